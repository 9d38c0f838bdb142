"""Synthetic long-range tasks for recurrent networks, generated offline, deterministic per seed.

Element ``i`` of a split is drawn from ``numpy.random.default_rng((seed, split, i))``: random
access, nothing stored, and the same numbers on every machine. Each task reports its trivial
baseline (``Dataset.baseline``; the trainer logs it beside the eval metrics as
``baseline_*``): a model that does not beat it has learned nothing.

- ``adding`` (regression, many-to-one). Inputs (T, 2): a value and a marker; two steps are
  marked; the target is a function of the two marked values.
  ``variant="le"`` (Le, Jaitly & Hinton 2015): values U[0, 1], one marker in each half, target
  X1 + X2. Predicting 1 always gives MSE Var(X1 + X2) = 1/6.
  ``variant="hochreiter"`` (Hochreiter & Schmidhuber 1997, experiment 4): values U[-1, 1], the
  first marker among the first 10 steps, the second among the first T/2 - 1; the first and last
  steps carry marker -1 unless marked; target 0.5 + (X1 + X2)/4. Predicting 0.5 gives
  MSE = 1/24. (They also draw the length from [T, T + T/10]; here T is fixed.)
- ``copy_memory`` (the copy task of Arjovsky, Shah & Bengio 2016; classification at every
  step). Inputs (T + 20,): ten symbols from {1..8}, T - 1 blanks (0), the delimiter 9, ten
  blanks; targets: T + 10 blanks, then the ten symbols. Memoryless baseline (blanks, then uniform
  guesses): cross-entropy 10 ln 8 / (T + 20).
- ``temporal_order`` (Hochreiter & Schmidhuber 1997 exp. 6a, as in Pascanu, Mikolov & Bengio
  2013; many-to-one, 4 classes). Distractors {2..5}; symbols X=0 or Y=1 at t1 in [T/10, 2T/10)
  and t2 in [4T/10, 5T/10); the class is the ordered pair (XX, XY, YX, YY). Baseline:
  cross-entropy ln 4, accuracy 1/4.
- ``counting`` (one-to-many): a one-hot start k of ``vocab`` classes; targets k, k+1, ... (mod
  vocab) for ``length`` steps. Baseline: ln(vocab), accuracy 1/vocab.

Sequence-to-sequence tasks (copy, reverse and sort a sequence; encoder-decoder) are in
``lectarch.data.seq2seq_tasks``, in the one layout of ``lectarch.data.sequences``.
"""

import math
from collections.abc import Callable

import grain
import ml_collections
import numpy as np

from lectarch.config import ConfigError
from lectarch.config.rules import POSITIVE_INT, OneOf, Range
from lectarch.data.spec import DataSpec, Dataset

TASKS = ("adding", "copy_memory", "temporal_order", "counting")
SPLITS = {"train": 0, "eval": 1}

CONFIG_RULES = {
    "T": Range(2, integer=True),
    "variant": OneOf(("le", "hochreiter")),
    "num_train": POSITIVE_INT,
    "num_eval": POSITIVE_INT,
    "vocab": Range(4, integer=True),
    "length": POSITIVE_INT,
}


def default_config(name: str = "adding") -> ml_collections.ConfigDict:
    d = ml_collections.ConfigDict()
    d.name = name
    d.T = 100  # sequence length (adding, temporal_order) or copy_memory's delay
    d.variant = "le"  # adding: le | hochreiter
    d.vocab = 10  # counting
    d.length = 8  # counting: output steps
    d.num_train = 100_000
    d.num_eval = 1000
    return d


def validate_config(cfg: ml_collections.ConfigDict) -> None:
    d = cfg.data
    if d.name == "adding" and d.variant == "hochreiter" and d.T < 24:
        raise ConfigError(f"config.data.T={d.T} is out of range: the Hochreiter-Schmidhuber adding "
                          "problem needs T >= 24 (markers among the first 10 and first T/2 - 1 steps)")
    if d.name == "temporal_order" and d.T < 10:
        raise ConfigError(f"config.data.T={d.T} is out of range: temporal_order needs an integer >= 10")


def adding(rng: np.random.Generator, T: int, variant: str = "le") -> dict:
    marker = np.zeros(T, np.float32)
    if variant == "le":
        values = rng.uniform(0, 1, T).astype(np.float32)
        i1, i2 = rng.integers(0, T // 2), rng.integers(T // 2, T)
        marker[[i1, i2]] = 1
        target = values[i1] + values[i2]
    else:
        values = rng.uniform(-1, 1, T).astype(np.float32)
        marker[[0, T - 1]] = -1
        i1 = rng.integers(0, 10)
        i2 = rng.integers(0, T // 2 - 2)
        i2 = i2 + 1 if i2 >= i1 else i2  # uniform over the first T/2 - 1 steps other than i1
        marker[[i1, i2]] = 1
        values[0] = 0.0 if i1 != 0 and i2 != 0 else values[0]  # an unmarked first step carries no value
        target = 0.5 + (values[i1] + values[i2]) / 4
    return {"inputs": np.stack([values, marker], -1), "targets": np.float32(target)}


def copy_memory(rng: np.random.Generator, T: int) -> dict:
    symbols = rng.integers(1, 9, 10)
    inputs = np.zeros(T + 20, np.int32)
    inputs[:10] = symbols
    inputs[T + 9] = 9  # the delimiter: "now reproduce"
    targets = np.zeros(T + 20, np.int32)
    targets[-10:] = symbols
    return {"inputs": inputs, "targets": targets}


def temporal_order(rng: np.random.Generator, T: int) -> dict:
    inputs = rng.integers(2, 6, T).astype(np.int32)
    t1 = rng.integers(T // 10, max(2 * T // 10, T // 10 + 1))
    t2 = rng.integers(4 * T // 10, max(5 * T // 10, 4 * T // 10 + 1))
    a, b = rng.integers(0, 2, 2)
    inputs[t1], inputs[t2] = a, b
    return {"inputs": inputs, "targets": np.int32(2 * a + b)}


def counting(rng: np.random.Generator, vocab: int, length: int) -> dict:
    k = rng.integers(0, vocab)
    return {"inputs": np.eye(vocab, dtype=np.float32)[k], "targets": ((k + np.arange(length)) % vocab).astype(np.int32)}


def baseline(d: ml_collections.ConfigDict) -> dict[str, float]:
    """The trivial predictor's metric, in the names the objective logs."""
    if d.name == "adding":
        return {"mse": 1 / 6 if d.variant == "le" else 1 / 24}
    if d.name == "copy_memory":
        return {"loss": 10 * math.log(8) / (d.T + 20), "accuracy": (d.T + 10 + 10 / 8) / (d.T + 20)}
    if d.name == "temporal_order":
        return {"loss": math.log(4), "accuracy": 0.25}
    return {"loss": math.log(d.vocab), "accuracy": 1 / d.vocab}  # counting


def generator(d: ml_collections.ConfigDict) -> Callable[[np.random.Generator], dict]:
    return {"adding": lambda r: adding(r, d.T, d.variant),
            "copy_memory": lambda r: copy_memory(r, d.T),
            "temporal_order": lambda r: temporal_order(r, d.T),
            "counting": lambda r: counting(r, d.vocab, d.length)}[d.name]


def spec(d: ml_collections.ConfigDict) -> DataSpec:
    if d.name == "adding":
        return DataSpec((d.T, 2), 1)
    if d.name == "copy_memory":
        return DataSpec((d.T + 20,), 9, input_vocab=10)
    if d.name == "temporal_order":
        return DataSpec((d.T,), 4, input_vocab=6)
    return DataSpec((d.vocab,), d.vocab, output_length=d.length)  # counting


def input_shape(d: ml_collections.ConfigDict) -> tuple[int, ...]:
    """The shape of one input from the config alone (``lectarch.data.input_shape_of``)."""
    return tuple(spec(d).input_shape)


def split(d: ml_collections.ConfigDict, seed: int, name: str, size: int) -> grain.MapDataset:
    make = generator(d)
    return grain.MapDataset.range(size).map(lambda i: make(np.random.default_rng((seed, SPLITS[name], int(i)))))


def build(cfg: ml_collections.ConfigDict, seed: int) -> Dataset:
    if cfg.name not in TASKS:
        raise ConfigError(f"config.data.name={cfg.name!r} is not a sequence task: one of {TASKS}")
    return Dataset(spec=spec(cfg), train=split(cfg, seed, "train", cfg.num_train),
                   eval=split(cfg, seed, "eval", cfg.num_eval), name=cfg.name, baseline=baseline(cfg))
