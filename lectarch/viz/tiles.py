"""Many small images in one grid: filters, feature maps, an MLP's first-layer weights.

``mosaic`` lays ``N`` tiles out with gaps of NaN (pure NumPy); ``draw`` shows it with one shared
colour scale and a colour bar, enlarged without blur (nearest neighbour), each tile framed and
numbered. Gaps and empty tiles are NaN and drawn transparent: blank paper, outside every frame, so
they cannot be read as a value (white is the zero of the diverging map).
"""

import math

import numpy as np

from lectarch.viz.picture import Picture

MAX_TILES = 64
TILE_PX = 64  # about how wide one tile is drawn


def grid_shape(n: int) -> tuple[int, int]:
    """``(rows, cols)`` of a near-square grid of ``n`` tiles."""
    cols = max(1, math.ceil(math.sqrt(n)))
    return -(-n // cols), cols


def mosaic(tiles_NxHxW: np.ndarray, cols: int, gap: int) -> np.ndarray:
    """Tile ``k`` at row ``k // cols``, column ``k % cols``, ``gap`` NaN pixels apart (none around the edge)."""
    t = np.asarray(tiles_NxHxW, np.float32)
    n, h, w = t.shape[:3]
    rows = -(-n // cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap) + t.shape[3:], np.nan, np.float32)
    for k in range(n):
        r, c = divmod(k, cols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = t[k]
    return out


def _rgb(m: np.ndarray, signed: bool) -> np.ndarray:
    """RGB tiles on one scale (signed: grey is zero), NaN gaps transparent: an ``H x W x 4`` image."""
    finite = m[np.isfinite(m)]
    if signed:
        scale = float(np.abs(finite).max()) or 1.0
        rgb = 0.5 + m / (2 * scale)
    else:
        lo, hi = float(finite.min()), float(finite.max())
        rgb = (m - lo) / ((hi - lo) or 1.0)
    alpha = np.isfinite(m[..., :1]).astype(np.float32)
    return np.concatenate([np.nan_to_num(np.clip(rgb, 0, 1)), alpha], axis=-1)


def draw(plt, p: Picture):
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    from lectarch.viz.render import colour_scale

    t = p.data[:MAX_TILES]
    n, h, w = t.shape[:3]
    rows, cols = grid_shape(n)
    gap = max(1, round(0.3 * min(h, w)))
    m = mosaic(t, cols, gap)
    width_in = min(14.0, max(5.6, cols * TILE_PX / 100 + 1.6))
    height_in = (width_in - 1.8) * (m.shape[0] / m.shape[1]) + 1.2  # the tiles, the title and the x label
    fig, ax = plt.subplots(figsize=(width_in, height_in), layout="constrained")
    rgb = m.ndim == 3
    if rgb:
        ax.imshow(_rgb(m, p.signed), interpolation="nearest")
    else:
        im = ax.imshow(m, interpolation="nearest", **colour_scale(m, p.signed))
        fig.colorbar(im, ax=ax, shrink=0.8, label=p.value_label)
    frames = [Rectangle(((k % cols) * (w + gap) - 0.5, (k // cols) * (h + gap) - 0.5), w, h) for k in range(n)]
    ax.add_collection(PatchCollection(frames, facecolor="none", edgecolor="0.35", linewidth=0.6))
    if n <= MAX_TILES and p.panel_titles:
        size = 7 if cols <= 8 else 6
        for k, label in enumerate(p.panel_titles[:n]):
            ax.text((k % cols) * (w + gap) + w / 2 - 0.5, (k // cols) * (h + gap) - 0.5 - 0.04 * h, label,
                    ha="center", va="bottom", fontsize=size, color="0.2")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    shown = f"; the first {MAX_TILES} of {len(p.data)}" if len(p.data) > MAX_TILES else ""
    ax.set_xlabel(f"{p.xlabel}{shown}" + (f"\ncolour: {p.value_label}" if rgb else ""), fontsize=9)
    ax.set_ylabel(p.ylabel, fontsize=9)
    return fig


__all__ = ["MAX_TILES", "draw", "grid_shape", "mosaic"]
