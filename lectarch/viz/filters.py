"""The slides "Example Layer 1 Filters" and "Example Filtermaps" as images.

Pure numpy: every function returns an ``H x W`` (greyscale) or ``H x W x 3`` (RGB) float image in
[0, 1] that ``lectarch.train.metrics.save_png`` and TensorBoard take as it is. Each tile is scaled
to its own range (min -> 0, max -> 1), as such pictures usually are, and small tiles are enlarged
(nearest neighbour) so a 3x3 filter is still visible.
"""

from collections.abc import Sequence

import jax
import numpy as np


def normalise(x: np.ndarray) -> np.ndarray:
    """``(x - min) / (max - min)``; a constant tile becomes 0.5."""
    x = np.asarray(x, np.float32)
    lo, hi = float(x.min()), float(x.max())
    return np.full_like(x, 0.5) if hi - lo < 1e-12 else (x - lo) / (hi - lo)


def enlarge(tile: np.ndarray, min_size: int) -> np.ndarray:
    """Repeat pixels so the tile's shorter side is at least ``min_size``."""
    f = max(1, -(-min_size // min(tile.shape[:2])))
    return np.repeat(np.repeat(tile, f, axis=0), f, axis=1)


def tile_grid(tiles: Sequence[np.ndarray], cols: int | None = None, gap: int = 2, background: float = 1.0) -> np.ndarray:
    """Tiles of one shape (``h x w`` or ``h x w x 3``) in a grid, ``gap`` pixels of ``background`` apart."""
    n = len(tiles)
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = -(-n // cols)
    h, w = tiles[0].shape[:2]
    grid = np.full((rows * (h + gap) + gap, cols * (w + gap) + gap) + tiles[0].shape[2:], background, np.float32)
    for k, t in enumerate(tiles):
        r, c = divmod(k, cols)
        grid[gap + r * (h + gap):gap + r * (h + gap) + h, gap + c * (w + gap):gap + c * (w + gap) + w] = t
    return grid


def filter_grid(w_KhxKwxCxO: np.ndarray, min_tile: int = 40) -> np.ndarray:
    """One tile per output channel: RGB for 3 input channels, else the mean over input channels."""
    w = np.asarray(w_KhxKwxCxO, np.float32)
    if w.shape[2] == 3:
        tiles = [normalise(w[:, :, :, o]) for o in range(w.shape[3])]
    else:
        tiles = [normalise(w[:, :, :, o].mean(axis=2)) for o in range(w.shape[3])]
    return tile_grid([enlarge(t, min_tile) for t in tiles])


def feature_map_grid(maps_HxWxC: np.ndarray, max_maps: int = 64, min_tile: int = 40) -> np.ndarray:
    """The first ``max_maps`` channels of one example's feature maps, one greyscale tile each."""
    maps = np.asarray(maps_HxWxC, np.float32)
    tiles = [enlarge(normalise(maps[:, :, c]), min_tile) for c in range(min(max_maps, maps.shape[2]))]
    return tile_grid(tiles)


def input_image(x_HxWxC: np.ndarray, min_size: int = 96) -> np.ndarray:
    x = normalise(np.asarray(x_HxWxC, np.float32))
    x = x[:, :, 0] if x.shape[2] == 1 else x[:, :, :3]
    return enlarge(x, min_size)


def conv_pictures(features, inputs_BxHxWxC) -> dict[str, np.ndarray]:
    """Filters of the first convolution, the input and every layer's maps for ``inputs[0]``.

    ``features`` is a ``lectarch.models.cnn.Features`` (``convs`` and ``feature_maps``).
    """
    from flax import nnx

    x = np.asarray(jax.device_get(inputs_BxHxWxC))[:1]
    pictures = {"filters_layer1": filter_grid(jax.device_get(features.convs[0].kernel[...])),
                "input": input_image(x[0])}
    graphdef, state = nnx.split(features)
    names = features.layer_names()
    # one compiled program (op-by-op dispatch would compile every layer's ops on their own)
    maps = jax.jit(lambda s, x: [m for _, m in nnx.merge(graphdef, s).feature_maps(x)])(state, x)
    for name, m in zip(names, maps):
        pictures[f"feature_maps_{name}"] = feature_map_grid(np.asarray(jax.device_get(m), np.float32)[0])
    return pictures


__all__ = ["conv_pictures", "enlarge", "feature_map_grid", "filter_grid", "input_image", "normalise", "tile_grid"]
