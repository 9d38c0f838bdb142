"""A picture as data: what it shows, its title and its axes; ``lectarch.viz.render`` draws it.

A model's ``pictures(inputs)`` (the ``Pictures`` capability) returns ``{name: Picture}``; the model
stays free of plotting code (this module needs only NumPy), and every picture is drawn the same way
as a PNG and in TensorBoard, with the training step added to its title. The kinds:

    tiles     ``N x h x w`` (or ``N x h x w x 3``, RGB) small images in a grid with gaps: filters,
              feature maps, an MLP's first-layer weights; one shared colour scale
    heatmaps  ``N x R x C`` panels with labelled axes and tick labels (tokens, layers): attention
              heads, recurrent states, hidden activations; one shared colour scale
    image     one ``H x W`` or ``H x W x 3`` input; the caller adds its class to the title
    curves    ``N x K x C``: 1-D filters, one panel per output channel, one line per input channel
    signal    a ``T x C`` input signal with every layer's ``T_l x C_l`` maps below it on one time axis

``signed=True`` draws a diverging colour map centred on zero (weights, tanh states); otherwise a
sequential one from the smallest to the largest value (activations after a ReLU, probabilities).
A user's model builds its pictures with the same helpers (``tiles``, ``heatmaps``, ``image``) and
gets the same titles, colour bars and sizes.
"""

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

KINDS = ("tiles", "heatmaps", "image", "curves", "signal")


@dataclasses.dataclass(frozen=True)
class Picture:
    kind: str
    title: str  # what it shows and which layer; the renderer adds the step
    data: np.ndarray
    xlabel: str = ""
    ylabel: str = ""
    panel_titles: tuple[str, ...] = ()  # one per tile or panel ("filter 3", "head 0")
    xticklabels: tuple[str, ...] = ()  # heatmaps: one per column
    yticklabels: tuple[str, ...] = ()  # heatmaps: one per row
    xtokens: tuple[int, ...] = ()  # token ids of the columns: the caller's detokenizer relabels them
    ytokens: tuple[int, ...] = ()
    value_label: str = ""  # the colour bar's label
    signed: bool = False  # diverging colour map centred on zero
    lower: float | None = None  # unsigned: where the colour scale starts (None: the smallest value)
    maps: tuple[tuple[str, np.ndarray], ...] = ()  # signal: (layer name, T_l x C_l) under the signal

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Picture kind {self.kind!r} is not one of {KINDS}")

    def with_title(self, title: str) -> "Picture":
        return dataclasses.replace(self, title=title)


def _host(x) -> np.ndarray:
    return np.asarray(x, np.float32)


def tiles(data_NxHxW, title: str, *, xlabel: str, ylabel: str, value_label: str, signed: bool,
          panel_titles: Sequence[str] = ()) -> Picture:
    """Small images in a grid (``N x h x w`` or ``N x h x w x 3``); ``panel_titles`` name the tiles."""
    return Picture("tiles", title, _host(data_NxHxW), xlabel=xlabel, ylabel=ylabel, value_label=value_label,
                   signed=signed, panel_titles=tuple(panel_titles))


def heatmaps(data_NxRxC, title: str, *, xlabel: str, ylabel: str, value_label: str, signed: bool = False,
             panel_titles: Sequence[str] = (), xticklabels: Sequence[str] = (), yticklabels: Sequence[str] = (),
             xtokens: Sequence[int] = (), ytokens: Sequence[int] = (), lower: float | None = None) -> Picture:
    """Panels with labelled axes (one ``R x C`` array is one panel)."""
    data = _host(data_NxRxC)
    data = data[None] if data.ndim == 2 else data
    return Picture("heatmaps", title, data, xlabel=xlabel, ylabel=ylabel, value_label=value_label, signed=signed,
                   panel_titles=tuple(panel_titles), xticklabels=tuple(xticklabels), yticklabels=tuple(yticklabels),
                   xtokens=tuple(int(t) for t in xtokens), ytokens=tuple(int(t) for t in ytokens), lower=lower)


def image(x, title: str = "input", *, value_label: str = "input value") -> Picture:
    """One input: ``H x W``, ``H x W x 1`` or ``H x W x 3``; a flat input of a square length is shown square."""
    x = _host(x)
    if x.ndim == 1 and math.isqrt(x.size) ** 2 == x.size:
        side = math.isqrt(x.size)
        x, title = x.reshape(side, side), f"{title} ({x.size} values as {side}x{side})"
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    if x.ndim == 1:
        x = x[None]
    return Picture("image", title, x, xlabel="column (pixel)", ylabel="row (pixel)", value_label=value_label)


def curves(w_KxCxO, title: str) -> Picture:
    """1-D filters: ``K`` taps, ``C`` input and ``O`` output channels (a panel per output channel)."""
    w = _host(w_KxCxO)
    return Picture("curves", title, np.moveaxis(w, 2, 0), xlabel="tap k", ylabel="weight", signed=True)


def signal(x_TxC, maps: Sequence[tuple[str, np.ndarray]], title: str) -> Picture:
    """A ``T x C`` signal with every layer's ``T_l x C_l`` maps under it on the input's time axis."""
    return Picture("signal", title, _host(x_TxC), xlabel="time step of the input", ylabel="channel",
                   value_label="activation", maps=tuple((n, _host(m)) for n, m in maps))


def as_picture(name: str, value) -> Picture:
    """A ``Picture`` as it is; a bare image array (values in [0, 1]) as an ``image`` titled ``name``."""
    if isinstance(value, Picture):
        return value
    x = _host(value)
    return Picture("image", name.replace("_", " "), x[:, :, 0] if x.ndim == 3 and x.shape[2] == 1 else x,
                   xlabel="column (pixel)", ylabel="row (pixel)", value_label="value")


__all__ = ["KINDS", "Picture", "as_picture", "curves", "heatmaps", "image", "signal", "tiles"]
