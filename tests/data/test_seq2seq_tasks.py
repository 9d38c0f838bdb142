"""Copy, reverse and sort: the element layout the Transformer expects, and a truly held-out eval split."""

import numpy as np
import pytest

from lectarch.data.seq2seq_tasks import BOS, EOS, PAD, build, default_config, is_heldout


@pytest.mark.parametrize("task,rule", [("copy", lambda s: s), ("reverse", lambda s: s[::-1]), ("sort", sorted)])
def test_elements(task, rule):
    cfg = default_config(task)
    cfg.train_size, cfg.eval_size = 200, 50
    ds = build(cfg, seed=0)
    assert ds.spec.max_len == cfg.max_len + 1 and ds.spec.num_outputs == cfg.vocab_size + 3
    for split in (ds.train, ds.eval):
        for i in range(20):
            e = split[i]
            src, tgt_in, tgt = e["inputs"]["src"], e["inputs"]["tgt_in"], e["targets"]
            n = int(np.argmax(src == EOS))
            symbols = src[:n]
            assert cfg.min_len <= n <= cfg.max_len and np.all(symbols >= 3) and np.all(src[n + 1:] == PAD)
            assert list(tgt[:n]) == list(rule(list(symbols))) and tgt[n] == EOS and np.all(tgt[n + 1:] == PAD)
            assert tgt_in[0] == BOS and list(tgt_in[1:n + 1]) == list(tgt[:n]) and np.all(tgt_in[n + 1:] == PAD)
            np.testing.assert_array_equal(e["mask"], tgt != PAD)


def test_eval_sequences_are_never_trained_on_and_elements_are_reproducible():
    cfg = default_config("copy")
    cfg.train_size, cfg.eval_size = 2000, 200
    ds = build(cfg, seed=0)
    key = lambda e: tuple(e["inputs"]["src"])  # noqa: E731
    train = {key(ds.train[i]) for i in range(2000)}
    evals = {key(ds.eval[i]) for i in range(200)}
    assert not train & evals and len(evals) > 150
    assert all(is_heldout(np.array(s[: s.index(EOS)]), cfg.heldout_modulus) for s in evals)
    assert key(build(cfg, seed=5).train[17]) == key(ds.train[17])
