"""The one typed contract between data and models: what a model may know about its data.

``DataSpec`` (shapes and vocabularies; what a model's ``build(cfg, spec, rngs)`` reads):

    input_shape     one example's ``inputs`` (``(64,)``, ``(28, 28, 1)``, ``(T, F)``, ``(S,)``)
    num_outputs     classes (classification), outputs (regression) or the output vocabulary (tokens)
    input_vocab     tokens in: the size of the input vocabulary (the source vocabulary of a
                    sequence-to-sequence dataset); None for real-valued inputs
    output_length   one-to-many: how many steps to emit; None otherwise
    max_len         sequence-to-sequence: the padded length of every source and target row
    tokens          sequence-to-sequence: the special token ids (``TokenIds``: pad, bos, eos)

``Dataset`` (what the trainer and the command-line programs read besides the splits):

    baseline        the trivial predictor's eval metrics, in the objective's names (logged as
                    ``baseline_<name>`` beside the model's)
    decode_examples sequence-to-sequence: eval sources decoded at each eval (0: none)
    detokenize      token ids -> text, for showing and scoring decoded outputs (None: ids as numbers)

Every sequence-to-sequence dataset has the layout of ``lectarch.data.sequences``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # grain (and orbax under it) only for the annotations: a command that reads no data stays light
    import grain


@dataclasses.dataclass(frozen=True)
class TokenIds:
    """The special tokens of a sequence-to-sequence vocabulary."""

    pad: int = 0
    bos: int = 1
    eos: int = 2


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """Shapes and vocabularies of one example (see the module docstring for each field)."""

    input_shape: tuple[int, ...]
    num_outputs: int
    _: dataclasses.KW_ONLY
    input_vocab: int | None = None
    output_length: int | None = None
    max_len: int | None = None
    tokens: TokenIds | None = None

    @property
    def num_features(self) -> int:
        return math.prod(self.input_shape)


@dataclasses.dataclass
class Dataset:
    """A dataset: random-access train and eval splits whose elements are dicts of numpy arrays.

    A split is any sequence of elements (``len`` and indexing): a list of dicts, or a
    ``grain.MapDataset`` (lazy, for data that should not sit in memory at once). The pipeline wraps a
    plain sequence with ``grain.MapDataset.source`` when it shuffles, so a command that only reads
    shapes never imports grain.

    Every element has ``inputs`` and ``targets`` (each a numpy array or a dict of them); optionally
    ``mask`` (per-target weights, e.g. for padded sequences). Batching, shuffling (a deterministic
    function of seed and epoch), sharding across processes and augmentation are done once, in
    ``lectarch.data.pipeline``; ``augment(element, rng)`` runs after shuffling, so each epoch sees
    fresh randomness that is still a pure function of (seed, position).
    """

    spec: DataSpec
    train: Sequence[dict] | grain.MapDataset
    eval: Sequence[dict] | grain.MapDataset
    augment: Callable[[dict, np.random.Generator], dict] | None = None
    name: str = ""
    _: dataclasses.KW_ONLY
    baseline: dict[str, float] = dataclasses.field(default_factory=dict)
    decode_examples: int = 0
    detokenize: Callable[[Sequence[int]], str] | None = None
