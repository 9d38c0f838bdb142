"""Heat maps with labelled axes: attention heads (queries x keys, token labels), recurrent states
(units x time), hidden activations (layer x unit), and the input image with its class.

Every panel of a picture shares one colour scale and one colour bar; cells are drawn without blur
(nearest neighbour). Tick labels (tokens, layer names) are written out when there are few enough
to read, otherwise matplotlib picks numeric ticks.
"""

from lectarch.viz.picture import Picture

MAX_PANELS = 16
MAX_TICK_LABELS = 48


def _ticks(ax, axis: str, labels: tuple[str, ...], n: int) -> None:
    if not labels or len(labels) != n or n > MAX_TICK_LABELS:
        return
    size = 8 if n <= 16 else 6
    if axis == "x":
        ax.set_xticks(range(n), labels, fontsize=size, rotation=90 if max(map(len, labels)) > 2 else 0)
    else:
        ax.set_yticks(range(n), labels, fontsize=size)


def _panel_inches(rows: int, cols: int) -> tuple[float, float]:
    """A panel's size: cells square-ish, at most a few inches, at least legible."""
    aspect = rows / max(cols, 1)
    w = 4.2 if cols >= 8 else 3.0
    h = min(4.5, max(1.4, w * aspect))
    return w, h


def draw(plt, p: Picture):
    from lectarch.viz.render import colour_scale

    data = p.data[:MAX_PANELS]
    n, R, C = data.shape
    cols = min(n, 4)
    rows = -(-n // cols)
    pw, ph = _panel_inches(R, C)
    fig, axes = plt.subplots(rows, cols, figsize=(pw * cols + 1.4, ph * rows + 1.2), squeeze=False,
                             layout="constrained")
    scale = colour_scale(data, p.signed, p.lower)
    im = None
    for k, ax in enumerate(axes.ravel()):
        if k >= n:
            ax.axis("off")  # an empty panel is blank
            continue
        im = ax.imshow(data[k], interpolation="nearest", aspect="auto", **scale)
        if p.panel_titles:
            ax.set_title(p.panel_titles[k], fontsize=9)
        _ticks(ax, "x", p.xticklabels, C)
        _ticks(ax, "y", p.yticklabels, R)
        ax.set_xlabel(p.xlabel, fontsize=9)
        ax.set_ylabel(p.ylabel, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.9, label=p.value_label)
    return fig


def draw_image(plt, p: Picture):
    x = p.data
    H, W = x.shape[:2]
    square = max(H, W) <= 3 * min(H, W)
    fig, ax = plt.subplots(figsize=(5.4, 4.6) if square else (8.0, 3.2), layout="constrained")
    if x.ndim == 3:
        lo, hi = float(x.min()), float(x.max())
        ax.imshow((x[:, :, :3] - lo) / ((hi - lo) or 1.0), interpolation="nearest")
        ax.set_title(f"RGB, {p.value_label} scaled from [{lo:.3g}, {hi:.3g}] to [0, 1]", fontsize=8)
    else:
        im = ax.imshow(x, interpolation="nearest", cmap="gray", aspect=None if square else "auto")
        fig.colorbar(im, ax=ax, shrink=0.9, label=p.value_label)
    ax.set_xlabel(p.xlabel, fontsize=9)
    ax.set_ylabel(p.ylabel, fontsize=9)
    ax.tick_params(labelsize=7)
    return fig


__all__ = ["MAX_PANELS", "MAX_TICK_LABELS", "draw", "draw_image"]
