"""What a model needs to know about its data, and the one structure every dataset yields."""

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import grain
import numpy as np


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """Shapes of one example.

    ``input_shape``: one example's ``inputs`` (e.g. ``(64,)``, ``(28, 28, 1)``, ``(T, F)``).
    ``num_outputs``: classes for classification, output size for regression, vocabulary for tokens.
    ``extras``: anything else a model family needs (e.g. ``{"src_vocab": ..., "tgt_vocab": ...}``).
    """

    input_shape: tuple[int, ...]
    num_outputs: int
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def num_features(self) -> int:
        return math.prod(self.input_shape)


@dataclasses.dataclass
class Dataset:
    """A dataset: random-access train and eval splits whose elements are dicts of numpy arrays.

    Every element has ``inputs`` and ``targets`` (each a numpy array or a dict of them); optionally
    ``mask`` (per-target weights, e.g. for padded sequences). Batching, shuffling (a deterministic
    function of seed and epoch), sharding across processes and augmentation are done once, in
    ``lectarch.data.pipeline``; ``augment(element, rng)`` runs after shuffling, so each epoch sees
    fresh randomness that is still a pure function of (seed, position).
    """

    spec: DataSpec
    train: grain.MapDataset
    eval: grain.MapDataset
    augment: Callable[[dict, np.random.Generator], dict] | None = None
    name: str = ""
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)
