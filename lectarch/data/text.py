"""Character-level language modelling on any text file (``config.data.path``).

The default (``path=""``) is the Python standard library's own ``inspect.py``, found through the
``inspect`` module: a text present on every machine that runs Python, so nothing is downloaded.
The vocabulary is the set of characters of the file; the last ``eval_fraction`` of the text is the
eval split. An element is a window of ``seq_len`` characters (``inputs``) and the same window
shifted by one (``targets``: the next character at every step; many-to-many aligned).

Baseline: the unigram model (character frequencies of the train text), reported in bits per
character (``baseline_bits_per_token``) beside the model's ``bits_per_token``.
"""

import inspect
import math
import pathlib

import grain
import ml_collections
import numpy as np

from lectarch.config import ConfigError
from lectarch.config.rules import POSITIVE_INT, Range
from lectarch.data.spec import DataSpec, Dataset

CONFIG_RULES = {
    "seq_len": POSITIVE_INT,
    "stride": POSITIVE_INT,
    "eval_fraction": Range(0, 1, lo_open=True, hi_open=True),
}


def default_config() -> ml_collections.ConfigDict:
    d = ml_collections.ConfigDict()
    d.name = "text"
    d.path = ""  # a UTF-8 text file; "" = the standard library's inspect.py
    d.seq_len = 128
    d.stride = 64  # distance between the starts of training windows
    d.eval_fraction = 0.1
    return d


def default_path() -> pathlib.Path:
    return pathlib.Path(inspect.getsourcefile(inspect))


def read_text(path: str) -> str:
    p = pathlib.Path(path) if path else default_path()
    if not p.is_file():
        raise ConfigError(f"config.data.path={path!r} is not a file")
    return p.read_text(encoding="utf-8", errors="replace")


def unigram_bits(train_ids: np.ndarray, eval_ids: np.ndarray, vocab: int) -> float:
    """Cross-entropy (bits per character) of the eval text under add-one smoothed train frequencies."""
    counts = np.bincount(train_ids, minlength=vocab) + 1.0
    logp = np.log2(counts / counts.sum())
    return float(-logp[eval_ids].mean())


def windows(ids: np.ndarray, seq_len: int, stride: int) -> grain.MapDataset:
    starts = np.arange(0, len(ids) - seq_len - 1, stride)
    return grain.MapDataset.source(starts).map(
        lambda s: {"inputs": ids[s:s + seq_len], "targets": ids[s + 1:s + seq_len + 1]})


def build(cfg: ml_collections.ConfigDict, seed: int) -> Dataset:
    del seed  # the split is fixed by the text
    text = read_text(cfg.path)
    chars = sorted(set(text))
    index = {ch: i for i, ch in enumerate(chars)}
    ids = np.array([index[ch] for ch in text], np.int32)
    cut = int(len(ids) * (1 - cfg.eval_fraction))
    train_ids, eval_ids = ids[:cut], ids[cut:]
    if len(eval_ids) < cfg.seq_len + 2:
        raise ConfigError(f"config.data.seq_len={cfg.seq_len} is out of range: the eval part of the text "
                          f"has only {len(eval_ids)} characters")
    bits = unigram_bits(train_ids, eval_ids, len(chars))
    spec = DataSpec((cfg.seq_len,), len(chars), input_vocab=len(chars))
    return Dataset(spec=spec, train=windows(train_ids, cfg.seq_len, cfg.stride),
                   eval=windows(eval_ids, cfg.seq_len, cfg.seq_len), name="text",
                   baseline={"bits_per_token": bits, "loss": bits * math.log(2)},
                   detokenize=lambda ids: "".join(chars[int(i)] for i in ids))
