"""Toy sequence-to-sequence tasks, generated offline: copy, reverse and sort random token sequences.

A source is ``n`` symbols (``min_len <= n <= max_len``) drawn uniformly from ``vocab_size``
symbols; the target is the copied / reversed / sorted symbols. Elements have the one
sequence-to-sequence layout (``lectarch.data.sequences``: ``src``, ``tgt_in``, ``targets``,
``mask``; 0 ``pad``, 1 ``bos``, 2 ``eos``), symbols 3..vocab_size+2, every row padded to
``max_len + 1``. The same tasks train the Transformer and the recurrent encoder-decoder.

Element ``i`` of a split is a pure function of (seed, split, i). Held-out means held out: a
sequence belongs to the eval split iff the CRC-32 of its symbols is divisible by
``heldout_modulus``, so no eval sequence is ever seen in training.
"""

import zlib

import grain
import ml_collections
import numpy as np

from lectarch.config import ConfigError
from lectarch.config.rules import POSITIVE_INT, OneOf, Range
from lectarch.data.sequences import BOS, EOS, PAD  # noqa: F401 - the token ids, re-exported
from lectarch.data.sequences import FIRST_FREE_ID, make_element, seq2seq_spec
from lectarch.data.spec import Dataset

FIRST_SYMBOL = FIRST_FREE_ID
TASKS = ("copy", "reverse", "sort")

CONFIG_RULES = {
    "task": OneOf(TASKS),
    "vocab_size": Range(2, 60000, integer=True),
    "min_len": POSITIVE_INT,
    "max_len": POSITIVE_INT,
    "train_size": POSITIVE_INT,
    "eval_size": POSITIVE_INT,
    "heldout_modulus": Range(2, integer=True),
    "decode_examples": Range(0, integer=True),
}


def default_config(task: str = "copy") -> ml_collections.ConfigDict:
    d = ml_collections.ConfigDict()
    d.name = "seq2seq_tasks"
    d.task = task
    d.vocab_size = 10  # symbols (the model's vocabulary is vocab_size + 3: pad, bos, eos)
    d.min_len = 1
    d.max_len = 10
    d.train_size = 200_000  # one "epoch" of generated sequences
    d.eval_size = 512
    d.heldout_modulus = 10  # 1 in heldout_modulus distinct sequences is reserved for eval
    d.decode_examples = 512  # eval sequences decoded greedily at each eval (exact-match accuracy); 0: off
    return d


def validate_config(cfg: ml_collections.ConfigDict) -> None:
    d = cfg.data
    if d.min_len > d.max_len:
        raise ConfigError(f"config.data.min_len={d.min_len} is out of range: must be <= config.data.max_len={d.max_len}")


def target_for(task: str, symbols: np.ndarray) -> np.ndarray:
    if task == "copy":
        return symbols
    if task == "reverse":
        return symbols[::-1]
    if task == "sort":
        return np.sort(symbols)
    raise ValueError(f"unknown task {task!r}")


def is_heldout(symbols: np.ndarray, modulus: int) -> bool:
    return zlib.crc32(np.asarray(symbols, np.int32).tobytes()) % modulus == 0


class TaskSource:
    """Random access to generated elements: element i from ``default_rng([seed, split, i])``."""

    def __init__(self, cfg: ml_collections.ConfigDict, seed: int, heldout: bool, size: int):
        self.task, self.size, self.heldout = cfg.task, size, heldout
        self.vocab_size, self.min_len, self.max_len = cfg.vocab_size, cfg.min_len, cfg.max_len
        self.modulus, self.seed = cfg.heldout_modulus, seed

    def __len__(self) -> int:
        return self.size

    def symbols(self, index: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, int(self.heldout), int(index)])
        for _ in range(100 * self.modulus):
            n = int(rng.integers(self.min_len, self.max_len + 1))
            s = rng.integers(FIRST_SYMBOL, FIRST_SYMBOL + self.vocab_size, n).astype(np.int32)
            if is_heldout(s, self.modulus) == self.heldout:
                return s
        raise RuntimeError("could not draw a sequence for this split; is the task's sequence space tiny?")

    def __getitem__(self, index: int) -> dict:
        symbols = self.symbols(index % self.size)
        return make_element(symbols.tolist(), target_for(self.task, symbols).tolist(), self.max_len + 1)


def build(cfg: ml_collections.ConfigDict, seed: int) -> Dataset:
    del seed  # the task's sequences are fixed; the experiment's seed shuffles them
    spec = seq2seq_spec(cfg.vocab_size + FIRST_SYMBOL, cfg.max_len + 1)
    train = grain.MapDataset.source(TaskSource(cfg, 0, heldout=False, size=cfg.train_size))
    evals = grain.MapDataset.source(TaskSource(cfg, 1, heldout=True, size=cfg.eval_size))
    return Dataset(spec=spec, train=train, eval=evals, name=f"seq2seq_{cfg.task}",
                   decode_examples=cfg.decode_examples)
