"""Character-level language-model data from a text file (default: the standard library)."""

import inspect
import math

import numpy as np

from lectarch.data import text


def test_default_text_is_the_standard_librarys_own_source():
    assert text.default_path() == __import__("pathlib").Path(inspect.getsourcefile(inspect))
    ds = text.build(text.default_config(), seed=0)
    source = text.default_path().read_text()
    assert ds.spec.num_outputs == ds.spec.input_vocab == len(set(source))
    e = ds.train[1]
    decoded = ds.detokenize(e["inputs"])
    assert decoded in source and len(decoded) == 128
    np.testing.assert_array_equal(e["targets"][:-1], e["inputs"][1:])  # the next character at every step


def test_any_file_named_in_the_config(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("abcab" * 200)
    cfg = text.default_config()
    cfg.path, cfg.seq_len, cfg.stride = str(path), 10, 5
    ds = text.build(cfg, seed=0)
    assert ds.spec.input_vocab == 3 and ds.detokenize([0, 1, 2, 2]) == "abcc"
    assert len(ds.train) == len(range(0, 900 - 11, 5)) and len(ds.eval) == len(range(0, 100 - 11, 10))
    # the unigram baseline of a text with frequencies 2/5, 2/5, 1/5 is close to its entropy
    entropy = -(0.4 * math.log2(0.4) * 2 + 0.2 * math.log2(0.2))
    assert abs(ds.baseline["bits_per_token"] - entropy) < 0.05
