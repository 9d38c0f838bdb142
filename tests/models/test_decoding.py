"""Decoding: the key/value cache changes nothing but the cost; beam search is consistent with greedy
and with the model's own probabilities."""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from lectarch.data.spec import DataSpec
from lectarch.models import transformer
from lectarch.models.decoding import beam_search, greedy_decode, length_penalty, until_eos

V, L = 11, 7


def tiny(seed=0, **overrides):
    m = transformer.default_config()
    m.d_model, m.num_heads, m.d_ff, m.dropout, m.max_len = 16, 2, 32, 0.0, 8
    for k, v in overrides.items():
        m[k] = v
    return transformer.build(m, DataSpec((8,), V, max_len=8), nnx.Rngs(seed))


SRC = np.array([[4, 5, 6, 7, 2, 0, 0, 0], [9, 8, 7, 6, 5, 4, 3, 2], [3, 2, 0, 0, 0, 0, 0, 0]])


def test_cached_decoding_equals_full_recomputation():
    for model in (tiny(seed=1, pre_norm=True, positional="learned"),):
        tokens_c, logp_c = greedy_decode(model, SRC, L, use_cache=True)
        tokens_f, logp_f = greedy_decode(model, SRC, L, use_cache=False)
        np.testing.assert_array_equal(tokens_c, tokens_f)
        np.testing.assert_allclose(logp_c, logp_f, atol=1e-5)
        # the recorded step log-probabilities are those of teacher forcing on the decoded prefix
        tgt_in = jnp.concatenate([jnp.ones((3, 1), jnp.int32), tokens_c[:, :-1]], axis=1)
        logits = jax.jit(lambda s, t: model({"src": s, "tgt_in": t}))(jnp.asarray(SRC), tgt_in)
        np.testing.assert_allclose(logp_c, jax.nn.log_softmax(logits), atol=1e-5)


def test_beam_size_one_is_greedy():
    model = tiny()
    greedy, _ = greedy_decode(model, SRC, L)
    beam, _ = beam_search(model, SRC, L, beam_size=1)
    np.testing.assert_array_equal(beam, greedy)


def test_beam_score_is_the_models_length_penalised_log_probability():
    model = tiny(seed=2)
    alpha = 0.6
    tokens, score = beam_search(model, SRC, L, beam_size=3, alpha=alpha)
    tokens = np.asarray(tokens)
    tgt_in = np.concatenate([np.ones((3, 1), np.int32), tokens[:, :-1]], axis=1)
    logp = np.asarray(jax.nn.log_softmax(jax.jit(lambda s, t: model({"src": s, "tgt_in": t}))(SRC, tgt_in)))
    for b in range(3):
        n = len(until_eos(tokens[b], model.eos_id, model.pad_id))
        assert model.pad_id not in tokens[b, :n] and model.bos_id not in tokens[b, :n]
        n = n + 1 if n < L else n  # eos counts as a generated token
        total = sum(logp[b, t, tokens[b, t]] for t in range(n))
        assert np.isclose(score[b], total / float(length_penalty(jnp.asarray(n), alpha)), atol=1e-4)
        assert np.all(tokens[b, n:] == model.pad_id)  # nothing after eos
