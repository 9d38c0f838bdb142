"""Parity of a bit string: a small synthetic dataset, generated offline, loaded by its module path.

``config.data.name = "parity_data"``. Each example is ``T`` random bits (inputs ``(T, 1)``); the
target is their parity (1 if the number of ones is odd). The splits are drawn from
``numpy.random.default_rng((split, T))``, so they are the same on every machine and need no
download. Predicting the majority class gives accuracy 0.5: a model that does not beat it has
learned nothing. The contract is that of a built-in dataset module: ``build(data_cfg, seed)``,
``CONFIG_RULES`` and ``default_config()``.
"""

import grain
import ml_collections
import numpy as np

from lectarch.config.rules import POSITIVE_INT, Range
from lectarch.data.spec import DataSpec, Dataset

CONFIG_RULES = {"T": Range(1, 64, integer=True), "num_train": POSITIVE_INT, "num_eval": POSITIVE_INT}


def default_config() -> ml_collections.ConfigDict:
    d = ml_collections.ConfigDict()
    d.name = "parity_data"
    d.T = 6  # bits per example
    d.num_train = 2048
    d.num_eval = 256
    return d


def arrays(T: int, n: int, split: int) -> tuple[np.ndarray, np.ndarray]:
    bits = np.random.default_rng((split, T)).integers(0, 2, (n, T))
    return bits[..., None].astype(np.float32), (bits.sum(axis=1) % 2).astype(np.int32)


def _records(x: np.ndarray, y: np.ndarray) -> grain.MapDataset:
    return grain.MapDataset.source([{"inputs": xi, "targets": yi} for xi, yi in zip(x, y)])


def build(cfg: ml_collections.ConfigDict, seed: int) -> Dataset:
    del seed  # fixed splits: every run is evaluated on the same examples
    return Dataset(spec=DataSpec(input_shape=(cfg.T, 1), num_outputs=2),
                   train=_records(*arrays(cfg.T, cfg.num_train, 0)),
                   eval=_records(*arrays(cfg.T, cfg.num_eval, 1)), name="parity")
