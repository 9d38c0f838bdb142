"""Any vector or image dataset read as a sequence, for 1-D convolutions and recurrent networks.

``config.data.as_sequence``:

- ``steps``: one value per step. A vector ``(D,)`` becomes ``D`` steps of 1 feature (the bundled
  digits: 64 steps, "sequential digits"); an image ``(H, W, C)`` becomes ``H * W`` steps of ``C``
  pixels in reading order (sequential MNIST, pixel by pixel).
- ``rows``: an image ``(H, W, C)`` becomes ``H`` steps of ``W * C`` features, read row by row.
- ``none``: the data as it is. Inputs that already are sequences (``(T, F)``: adding; ``(T,)``
  tokens: copy, temporal order) need no view.

The view is a reshape applied to each element as it is read (``Mapped``, or ``grain.MapDataset.map``
for a grain split): nothing is copied or stored. A dataset that augments its images (random crops,
flips) still augments images: the reshape follows its ``augment``.
"""

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from lectarch.config import ConfigError
from lectarch.data.spec import Dataset

MODES = ("none", "steps", "rows")


class Mapped(Sequence):
    """``fn`` applied to each element of ``split`` as it is read (a plain sequence's ``.map``)."""

    def __init__(self, split: Sequence, fn: Callable[[dict], dict]):
        self.split, self.fn = split, fn

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int) -> dict:
        return self.fn(self.split[i])


def _mapped(split, fn: Callable[[dict], dict]):
    return split.map(fn) if hasattr(split, "map") else Mapped(split, fn)


def sequence_shape(shape: tuple[int, ...], mode: str) -> tuple[int, ...]:
    """The shape of one example's inputs seen as a sequence ``(T, F)``."""
    if mode == "none" or len(shape) == 2:
        return tuple(shape)
    if mode == "steps" and len(shape) in (1, 3):
        return (int(np.prod(shape[:-1])) if len(shape) == 3 else shape[0], 1 if len(shape) == 1 else shape[-1])
    if mode == "rows" and len(shape) == 3:
        return (shape[0], shape[1] * shape[2])
    raise ConfigError(f"config.data.as_sequence={mode!r} is not allowed for inputs of shape {tuple(shape)}: "
                      f"'steps' takes (D,) or (H, W, C), 'rows' takes (H, W, C)")


def view(dataset: Dataset, mode: str) -> Dataset:
    """``dataset`` with every element's ``inputs`` reshaped to ``sequence_shape`` as it is read."""
    if mode == "none":
        return dataset
    shape = sequence_shape(dataset.spec.input_shape, mode)

    def reshape(element: dict) -> dict:
        return {**element, "inputs": np.reshape(element["inputs"], shape)}

    spec = dataclasses.replace(dataset.spec, input_shape=shape)
    if dataset.augment is None:
        return dataclasses.replace(dataset, spec=spec, train=_mapped(dataset.train, reshape),
                                   eval=_mapped(dataset.eval, reshape))
    augment = dataset.augment
    return dataclasses.replace(dataset, spec=spec, eval=_mapped(dataset.eval, reshape),
                               augment=lambda element, rng: reshape(augment(element, rng)))


__all__ = ["MODES", "Mapped", "sequence_shape", "view"]
