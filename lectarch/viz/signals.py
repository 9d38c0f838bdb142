"""Pictures of 1-D convolutional networks: filters as curves, feature maps under the input signal.

A 1-D filter of ``K`` taps is a curve, not a tile: ``filter_curves`` draws one small panel per
output channel (one line per input channel, taps on the x axis). ``maps_under_signal`` draws the
input signal on top and, below it on the same time axis, every layer's feature maps as a
channels-by-time heat map; a layer that downsamples is stretched to the input's time axis, so a
column of every panel is the same moment. Matplotlib resamples each heat map to the figure's
pixels, so the picture reads the same at T = 40 and T = 1000 (the figure has a fixed width).

Each function returns an ``H x W x 3`` float image in [0, 1], like ``lectarch.viz.filters``.
"""

from collections.abc import Sequence

import jax
import numpy as np


def _figure_to_array(fig) -> np.ndarray:
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba(), np.float32)[..., :3] / 255.0
    import matplotlib.pyplot as plt

    plt.close(fig)
    return rgba


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def filter_curves(w_KxCxO: np.ndarray, max_filters: int = 32) -> np.ndarray:
    """One panel per output channel: ``w[:, c, o]`` against the tap ``k``, one line per input channel."""
    plt = _pyplot()
    w = np.asarray(w_KxCxO, np.float32)
    n = min(max_filters, w.shape[2])
    cols = min(8, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.3 * rows), sharex=True, sharey=True, squeeze=False)
    lines = min(w.shape[1], 8)
    for o, ax in enumerate(axes.ravel()):
        if o >= n:
            ax.axis("off")
            continue
        for c in range(lines):
            ax.plot(np.arange(w.shape[0]), w[:, c, o], marker="o", ms=2, lw=1)
        ax.axhline(0, color="gray", lw=0.5)
        ax.set_xticks(range(0, w.shape[0], max(1, w.shape[0] // 5)))
        ax.set_title(f"filter {o}", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle(f"layer-1 filters ({w.shape[0]} taps; one line per input channel"
                 f"{', first 8' if w.shape[1] > 8 else ''})", fontsize=8)
    fig.tight_layout()
    return _figure_to_array(fig)


def maps_under_signal(x_TxC: np.ndarray, maps: Sequence[tuple[str, np.ndarray]], max_channels: int = 64) -> np.ndarray:
    """The input signal on top; below it each ``(name, maps T_l x C_l)`` as a channels-by-time heat map."""
    plt = _pyplot()
    x = np.asarray(x_TxC, np.float32)
    T = x.shape[0]
    heights = [1.6] + [max(0.9, min(2.2, 0.05 * min(m.shape[1], max_channels))) for _, m in maps]
    fig, axes = plt.subplots(len(heights), 1, figsize=(9, sum(heights) + 0.6), sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    top = axes[0, 0]
    if x.shape[1] <= 4:
        for c in range(x.shape[1]):
            top.plot(np.arange(T) + 0.5, x[:, c], lw=1 if T > 200 else 1.5, label=f"channel {c}")
        if x.shape[1] > 1:
            top.legend(fontsize=6, loc="upper right")
    else:
        top.imshow(x.T, aspect="auto", interpolation="nearest", cmap="gray", extent=(0, T, x.shape[1], 0))
    top.set_title(f"input signal (T = {T}, {x.shape[1]} channel{'s' if x.shape[1] > 1 else ''})", fontsize=8)
    for ax, (name, m) in zip(axes[1:, 0], maps):
        m = np.asarray(m, np.float32)[:, :max_channels]
        ax.imshow(m.T, aspect="auto", interpolation="nearest", cmap="viridis", extent=(0, T, m.shape[1], 0))
        ax.set_ylabel("channel", fontsize=7)
        ax.set_title(f"{name}: {m.shape[1]} channels x {m.shape[0]} steps", fontsize=8)
    for ax in axes[:, 0]:
        ax.tick_params(labelsize=6)
    axes[-1, 0].set_xlabel("time step of the input", fontsize=8)
    fig.tight_layout()
    return _figure_to_array(fig)


def signal_pictures(x_BxTxC, w_KxCxO, maps: Sequence[tuple[str, jax.Array]]) -> dict[str, np.ndarray]:
    """``filters_layer1`` and ``feature_maps`` for the first example of a batch."""
    first = [(n, np.asarray(jax.device_get(m), np.float32)[0]) for n, m in maps]
    return {"filters_layer1": filter_curves(np.asarray(jax.device_get(w_KxCxO))),
            "feature_maps": maps_under_signal(np.asarray(jax.device_get(x_BxTxC), np.float32)[0], first)}


def conv1d_pictures(features, x_BxTxC) -> dict[str, np.ndarray]:
    """The pictures of a 1-D ``lectarch.models.cnn.Features`` stack (one compiled forward pass)."""
    from flax import nnx

    x = np.asarray(jax.device_get(x_BxTxC), np.float32)[:1]
    graphdef, state = nnx.split(features)
    maps = jax.jit(lambda s, x: [m for _, m in nnx.merge(graphdef, s).feature_maps(x)])(state, x)
    return signal_pictures(x, features.convs[0].kernel[...], list(zip(features.layer_names(), maps)))


__all__ = ["conv1d_pictures", "filter_curves", "maps_under_signal", "signal_pictures"]
