"""A ``Picture`` drawn: one matplotlib (Agg) figure per picture, the same pixels as a PNG and in TensorBoard.

``figure(picture, step)`` dispatches on the picture's kind (``lectarch.viz.tiles``,
``lectarch.viz.heatmaps``, ``lectarch.viz.signals``) and adds the step to the title;
``to_rgb(fig)`` is the rendered figure as an ``H x W x 3`` uint8 array (what TensorBoard is given);
``write(pictures, step, out_dir, tb)`` writes ``<name>_step<step>.png`` for each and logs the same
array to a TensorBoard writer. Every figure is at least ``MIN_WIDTH_PX x MIN_HEIGHT_PX``.
"""

import pathlib

import numpy as np

from lectarch.viz.picture import Picture, as_picture

DPI = 100
MIN_WIDTH_PX, MIN_HEIGHT_PX = 480, 320


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def colour_scale(data: np.ndarray, signed: bool, lower: float | None = None) -> dict:
    """``imshow`` keywords: a diverging map centred on zero for signed values, else a sequential one
    from ``lower`` (default: the smallest value) to the largest; NaN (a gap, an empty tile) is transparent."""
    from matplotlib import colormaps

    finite = data[np.isfinite(data)]
    if signed:
        m = float(np.abs(finite).max()) if finite.size else 1.0
        cmap, vmin, vmax = colormaps["RdBu_r"], -(m or 1.0), m or 1.0
    else:
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        lo = lo if lower is None else lower
        cmap, vmin, vmax = colormaps["viridis"], lo, hi if hi > lo else lo + 1.0
    return {"cmap": cmap.with_extremes(bad=(0, 0, 0, 0)), "vmin": vmin, "vmax": vmax}


def figure(picture: Picture, step: int | None = None):
    """The picture as a matplotlib figure, titled with ``step`` when given."""
    from lectarch.viz import heatmaps, signals, tiles

    draw = {"tiles": tiles.draw, "heatmaps": heatmaps.draw, "image": heatmaps.draw_image,
            "curves": signals.draw_curves, "signal": signals.draw_signal}[picture.kind]
    fig = draw(pyplot(), picture)
    fig.suptitle(picture.title if step is None else f"{picture.title}, step {step}", fontsize=11)
    w, h = fig.get_size_inches()
    fig.set_size_inches(max(w, MIN_WIDTH_PX / DPI), max(h, MIN_HEIGHT_PX / DPI))
    fig.set_dpi(DPI)
    return fig


def to_rgb(fig, close: bool = True) -> np.ndarray:
    """The figure's pixels, ``H x W x 3`` uint8."""
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    if close:
        pyplot().close(fig)
    return rgb


def save_rgb(path: pathlib.Path, rgb: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(rgb, np.uint8)).save(path, format="png")


def rendered(name: str, picture, step: int | None) -> np.ndarray:
    """A model's picture (a ``Picture`` or a bare [0, 1] image array) drawn, as RGB pixels."""
    return to_rgb(figure(as_picture(name, picture), step))


def write(pictures: dict, step: int, out_dir: pathlib.Path, tb=None) -> list[pathlib.Path]:
    """``out_dir/<name>_step<step>.png`` for each picture, and the same pixels as a TensorBoard image."""
    written = []
    for name, picture in pictures.items():
        rgb = rendered(name, picture, step)
        path = pathlib.Path(out_dir) / f"{name}_step{step}.png"
        save_rgb(path, rgb)
        if tb is not None:
            tb.add_image(name, rgb, step, dataformats="HWC")
        written.append(path)
    return written


__all__ = ["DPI", "MIN_HEIGHT_PX", "MIN_WIDTH_PX", "colour_scale", "figure", "pyplot", "rendered", "save_rgb",
           "to_rgb", "write"]
