"""The slides "Example Layer 1 Filters" and "Example Filtermaps" as ``Picture`` data.

Pure NumPy (no plotting): ``lectarch.viz.tiles`` draws the tiles. Filters are signed weights,
drawn on one diverging scale centred on zero (RGB filters of a colour input as colour, grey = 0);
feature maps are one example's activations of every layer, one tile per channel, on one scale per
layer. ``mlp_pictures`` is the same idea for a perceptron: each first-layer unit's weights shaped
like the input, and the hidden activations layer by layer.
"""

import math

import jax
import numpy as np

from lectarch.viz.picture import Picture, heatmaps, image, tiles

MAX_MAPS = 64


def filter_tiles(w_KhxKwxCxO: np.ndarray, layer: str = "conv1") -> Picture:
    """One tile per output channel: RGB for 3 input channels, else the mean over input channels."""
    w = np.asarray(w_KhxKwxCxO, np.float32)
    kh, kw, C, O = w.shape
    data = np.moveaxis(w, 3, 0) if C == 3 else np.moveaxis(w.mean(axis=2), 2, 0)
    how = "RGB weights, grey = 0" if C == 3 else ("weight" if C == 1 else f"weight (mean over {C} input channels)")
    return tiles(data, f"layer-1 filters ({layer}: {O} filters of {kh}x{kw})", xlabel="kernel column (one tile per filter)",
                 ylabel="kernel row", value_label=how, signed=True, panel_titles=[str(o) for o in range(O)])


def feature_map_tiles(maps_HxWxC: np.ndarray, layer: str) -> Picture:
    """The first ``MAX_MAPS`` channels of one example's maps at ``layer``, one tile each."""
    m = np.asarray(maps_HxWxC, np.float32)
    H, W, C = m.shape
    return tiles(np.moveaxis(m[:, :, :MAX_MAPS], 2, 0), f"feature maps of {layer} ({C} channels of {H}x{W})",
                 xlabel="column (one tile per channel)", ylabel="row", value_label="activation",
                 signed=bool(m.min() < 0), panel_titles=[str(c) for c in range(min(C, MAX_MAPS))])


def conv_pictures(features, inputs_BxHxWxC) -> dict[str, Picture]:
    """Filters of the first convolution, the input and every layer's maps for ``inputs[0]``.

    ``features`` is a ``lectarch.models.cnn.Features`` (``convs`` and ``feature_maps``).
    """
    from flax import nnx

    x = np.asarray(jax.device_get(inputs_BxHxWxC), np.float32)[:1]
    names = features.layer_names()
    pictures = {"filters_layer1": filter_tiles(jax.device_get(features.convs[0].kernel[...]), names[0]),
                "input": image(x[0])}
    graphdef, state = nnx.split(features)
    # one compiled program (op-by-op dispatch would compile every layer's ops on their own)
    maps = jax.jit(lambda s, x: [m for _, m in nnx.merge(graphdef, s).feature_maps(x)])(state, x)
    for name, m in zip(names, maps):
        pictures[f"feature_maps_{name}"] = feature_map_tiles(np.asarray(jax.device_get(m), np.float32)[0], name)
    return pictures


def input_shaped(w_DxU: np.ndarray, input_shape: tuple[int, ...]) -> tuple[np.ndarray, str]:
    """Each unit's ``D`` incoming weights as an image of the input's shape: ``U x H x W`` (a flat input
    of a square length as a square; a colour image as the mean over its channels)."""
    w = np.asarray(w_DxU, np.float32).T
    U, D = w.shape
    if len(input_shape) == 3:
        return w.reshape(U, *input_shape).mean(axis=3), f"{input_shape[0]}x{input_shape[1]}"
    if len(input_shape) == 2:
        return w.reshape(U, *input_shape), f"{input_shape[0]}x{input_shape[1]}"
    side = math.isqrt(D)
    if side * side == D:
        return w.reshape(U, side, side), f"{D} inputs as {side}x{side}"
    return w.reshape(U, 1, D), f"{D} inputs"


def mlp_pictures(x_BxD, w1_DxU, hidden_BxU: list, input_shape: tuple[int, ...]) -> dict[str, Picture]:
    """An MLP's first-layer weights as input-shaped images, the input, and its hidden activations."""
    w, shape = input_shaped(jax.device_get(w1_DxU), input_shape)
    U = w.shape[0]
    shown = min(U, MAX_MAPS)
    acts = [np.asarray(jax.device_get(h), np.float32)[0] for h in hidden_BxU]
    width = max(len(a) for a in acts)
    rows = np.full((len(acts), width), np.nan, np.float32)
    for i, a in enumerate(acts):
        rows[i, :len(a)] = a
    x = np.asarray(jax.device_get(x_BxD), np.float32)[0]
    return {
        "weights_layer1": tiles(w[:shown], f"first-layer weights of {shown} of {U} hidden units (hidden.0)",
                                xlabel=f"input column ({shape}; one tile per hidden unit)", ylabel="input row",
                                value_label="weight", signed=True, panel_titles=[str(u) for u in range(shown)]),
        "input": image(x.reshape(input_shape) if len(input_shape) > 1 else x),
        "hidden_activations": heatmaps(rows, f"hidden activations of {len(acts)} layers", xlabel="unit",
                                       ylabel="layer", value_label="activation", signed=bool(np.nanmin(rows) < 0),
                                       yticklabels=[f"hidden.{i}" for i in range(len(acts))]),
    }


__all__ = ["conv_pictures", "feature_map_tiles", "filter_tiles", "input_shaped", "mlp_pictures"]
