"""Attention maps as images: the heads of one layer side by side, each a queries x keys heat map."""

import numpy as np


def head_grid(weights_HxTxS: np.ndarray, *, columns: int = 4, min_cell: int = 96, gap: int = 2) -> np.ndarray:
    """An RGB image (floats in [0, 1]) with one tile per head; each tile is normalised to its own max.

    Tiles are blown up by an integer factor (nearest neighbour) so that one token is at least a few
    pixels wide; heads are laid out ``columns`` per row with a white gap between them.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import colormaps

    H, T, S = weights_HxTxS.shape
    scale = max(1, int(np.ceil(min_cell / max(T, S, 1))))
    cols = min(columns, H)
    rows = -(-H // cols)
    th, tw = T * scale, S * scale
    grid = np.ones((rows * th + (rows - 1) * gap, cols * tw + (cols - 1) * gap, 3), np.float32)
    cmap = colormaps["viridis"]
    for h in range(H):
        w = weights_HxTxS[h]
        w = w / max(float(w.max()), 1e-12)
        tile = cmap(np.kron(w, np.ones((scale, scale))))[..., :3]
        r, c = divmod(h, cols)
        grid[r * (th + gap): r * (th + gap) + th, c * (tw + gap): c * (tw + gap) + tw] = tile
    return grid
