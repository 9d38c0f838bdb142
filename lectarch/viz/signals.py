"""Pictures of 1-D convolutional networks: filters as curves, feature maps under the input signal.

A 1-D filter of ``K`` taps is a curve, not a tile: ``draw_curves`` draws one small panel per output
channel (one line per input channel, taps on the x axis). ``draw_signal`` draws the input signal on
top and, below it on the same time axis, every layer's feature maps as a channels-by-time heat map
with its colour bar; a layer that downsamples is stretched to the input's time axis, so a column of
every panel is the same moment. Matplotlib resamples each heat map to the figure's pixels, so the
picture reads the same at T = 40 and T = 1000 (the figure has a fixed width, ``SIGNAL_WIDTH_IN``).

``signal_pictures`` and ``conv1d_pictures`` build the ``Picture`` data (no plotting); the
``draw_*`` functions are what ``lectarch.viz.render`` calls.
"""

from collections.abc import Sequence

import jax
import numpy as np

from lectarch.viz.picture import Picture, curves, signal

MAX_FILTERS, MAX_LINES, MAX_CHANNELS = 32, 8, 64
SIGNAL_WIDTH_IN = 9.0


def draw_curves(plt, p: Picture):
    """One panel per output channel: ``w[o, :, c]`` against the tap, one line per input channel."""
    w = p.data  # O x K x C
    n = min(MAX_FILTERS, w.shape[0])
    cols = min(8, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(max(6.0, 1.6 * cols), 1.4 * rows + 1.2), sharex=True,
                             sharey=True, squeeze=False, layout="constrained")
    for o, ax in enumerate(axes.ravel()):
        if o >= n:
            ax.axis("off")
            continue
        for c in range(min(w.shape[2], MAX_LINES)):
            ax.plot(np.arange(w.shape[1]), w[o, :, c], marker="o", ms=2, lw=1)
        ax.axhline(0, color="gray", lw=0.5)
        ax.set_xticks(range(0, w.shape[1], max(1, w.shape[1] // 5)))
        ax.set_title(f"filter {o}", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.supxlabel(f"{p.xlabel} (one line per input channel{', first 8' if w.shape[2] > MAX_LINES else ''})",
                  fontsize=8)
    fig.supylabel(p.ylabel, fontsize=8)
    return fig


def draw_signal(plt, p: Picture):
    """The input signal on top; below it each ``(name, T_l x C_l)`` map as a channels-by-time heat map."""
    from lectarch.viz.render import colour_scale

    x = p.data
    T = x.shape[0]
    heights = [1.6] + [max(0.9, min(2.2, 0.05 * min(m.shape[1], MAX_CHANNELS))) for _, m in p.maps]
    fig, axes = plt.subplots(len(heights), 1, figsize=(SIGNAL_WIDTH_IN, sum(heights) + 0.9), sharex=True,
                             squeeze=False, gridspec_kw={"height_ratios": heights}, layout="constrained")
    top = axes[0, 0]
    if x.shape[1] <= 4:
        for c in range(x.shape[1]):
            top.plot(np.arange(T) + 0.5, x[:, c], lw=1 if T > 200 else 1.5, label=f"channel {c}")
        if x.shape[1] > 1:
            top.legend(fontsize=6, loc="upper right")
        top.set_ylabel("value", fontsize=7)
    else:
        im = top.imshow(x.T, aspect="auto", interpolation="nearest", cmap="gray", extent=(0, T, x.shape[1], 0))
        fig.colorbar(im, ax=top, label="input value", pad=0.01)
        top.set_ylabel(p.ylabel, fontsize=7)
    top.set_title(f"input signal (T = {T}, {x.shape[1]} channel{'s' if x.shape[1] > 1 else ''})", fontsize=8)
    for ax, (name, m) in zip(axes[1:, 0], p.maps):
        m = m[:, :MAX_CHANNELS]
        signed = bool(m.min() < 0)
        im = ax.imshow(m.T, aspect="auto", interpolation="nearest", extent=(0, T, m.shape[1], 0),
                       **colour_scale(m, signed))
        fig.colorbar(im, ax=ax, label=p.value_label, pad=0.01)
        ax.set_ylabel(p.ylabel, fontsize=7)
        ax.set_title(f"{name}: {m.shape[1]} channels x {m.shape[0]} steps", fontsize=8)
    for ax in axes[:, 0]:
        ax.tick_params(labelsize=6)
    axes[-1, 0].set_xlabel(p.xlabel, fontsize=8)
    return fig


def signal_pictures(x_BxTxC, w_KxCxO, maps: Sequence[tuple[str, jax.Array]]) -> dict[str, Picture]:
    """``filters_layer1`` and ``feature_maps`` for the first example of a batch."""
    w = np.asarray(jax.device_get(w_KxCxO), np.float32)
    first = [(n, np.asarray(jax.device_get(m), np.float32)[0]) for n, m in maps]
    return {"filters_layer1": curves(w, f"layer-1 filters ({w.shape[0]} taps, {w.shape[2]} filters)"),
            "feature_maps": signal(np.asarray(jax.device_get(x_BxTxC), np.float32)[0], first,
                                   "feature maps of every layer under the input signal")}


def conv1d_pictures(features, x_BxTxC) -> dict[str, Picture]:
    """The pictures of a 1-D ``lectarch.models.cnn.Features`` stack (one compiled forward pass)."""
    from flax import nnx

    x = np.asarray(jax.device_get(x_BxTxC), np.float32)[:1]
    graphdef, state = nnx.split(features)
    maps = jax.jit(lambda s, x: [m for _, m in nnx.merge(graphdef, s).feature_maps(x)])(state, x)
    return signal_pictures(x, features.convs[0].kernel[...], list(zip(features.layer_names(), maps)))


__all__ = ["conv1d_pictures", "draw_curves", "draw_signal", "signal_pictures"]
