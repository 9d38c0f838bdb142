"""The Transformer of figure 1: positional encoding, causality, padding, shared embeddings, the
paper's optimiser schedule, label smoothing, pictures, and the configs."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from lectarch.config import base_config
from lectarch.data.spec import DataSpec
from lectarch.models import transformer
from lectarch.models.transformer_layers import sinusoidal_encoding
from lectarch.train.objectives import classification
from lectarch.train.optim import schedule
from tests.helpers import config

V = 13
SPEC = DataSpec((8,), V, max_len=8)


def tiny(**overrides):
    m = transformer.default_config()
    m.d_model, m.num_heads, m.d_ff, m.dropout, m.max_len = 16, 2, 32, 0.0, 8
    for k, v in overrides.items():
        m[k] = v
    return transformer.build(m, SPEC, nnx.Rngs(0))


def test_sinusoidal_encoding_is_the_papers_formula():
    pe = sinusoidal_encoding(50, 16)
    for pos in (0, 1, 7, 49):
        for i in range(8):
            angle = pos / 10000 ** (2 * i / 16)
            assert pe[pos, 2 * i] == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-6)


@pytest.mark.parametrize("overrides", [{}, {"pre_norm": True, "positional": "learned"}])
def test_no_future_leakage(overrides):
    """d logits[t] / d (decoder input at t') is exactly zero for t' > t, and not for t' <= t."""
    model = tiny(**overrides)
    T = 6
    src = jnp.array([[4, 5, 6, 7, 2, 0, 0, 0]])
    tgt_in = jnp.arange(3, 3 + T)[None]  # distinct tokens: embedding row 3 + t' is the input at position t'
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    @jax.jit
    def jacobian(params):
        def per_position(p):  # T: the summed logits at each output position t
            return jnp.sum(nnx.merge(graphdef, p, rest)({"src": src, "tgt_in": tgt_in})[0], axis=-1)
        return jax.jacrev(per_position)(params)

    dlogits_TxVxD = np.asarray(jacobian(params)["tgt_embed"]["embedding"][...])
    dependence_TxT = np.abs(dlogits_TxVxD[:, 3:3 + T]).sum(-1)  # [t, t']
    future = np.triu(np.ones((T, T), bool), 1)
    assert np.all(dependence_TxT[future] == 0.0), dependence_TxT
    assert np.all(dependence_TxT[~future] > 0.0), dependence_TxT


def test_padding_changes_nothing():
    """A padded batch row gives the same encoder output and logits as the unpadded sequence alone."""
    model = tiny(num_encoder_layers=2)
    src, tgt_in = [4, 5, 6, 2], [1, 6, 5, 4]
    padded = {"src": jnp.array([src + [0] * 4, [4, 5, 6, 7, 8, 9, 10, 2]]),
              "tgt_in": jnp.array([tgt_in + [0, 0], [1, 4, 5, 6, 7, 8]])}
    alone = {"src": jnp.array([src]), "tgt_in": jnp.array([tgt_in])}
    run = nnx.jit(lambda m, x: (m.encode(x["src"])[0], m(x)))
    mem_p, logits_p = run(model, padded)
    mem_a, logits_a = run(model, alone)
    np.testing.assert_allclose(mem_p[0, :4], mem_a[0], atol=1e-5)
    np.testing.assert_allclose(logits_p[0, :4], logits_a[0], atol=1e-5)
    # Counted as real tokens (another padding id), the zeros do change the outputs.
    model.pad_id = 99
    assert not np.allclose(run(model, padded)[1][0, :4], logits_a[0], atol=1e-3)


def test_shared_embeddings_and_tied_output():
    shared = tiny(share_embeddings=True, tie_output=True)
    separate = tiny()
    assert shared.src_embed is shared.tgt_embed and shared.output is None
    n = lambda m: sum(x.size for x in jax.tree.leaves(nnx.state(m, nnx.Param)))  # noqa: E731
    assert n(separate) - n(shared) == 2 * V * 16 + V  # one table, no output matrix or bias


def test_base_model_has_the_papers_size():
    """Table 3: base model, 65M parameters (with a 37000-token shared vocabulary)."""
    spec = DataSpec((256,), 37000, max_len=256)
    abstract = nnx.eval_shape(lambda: transformer.build(transformer.base_config(), spec, nnx.Rngs(0)))
    n = sum(x.size for x in jax.tree.leaves(nnx.state(abstract, nnx.Param)))
    assert 60e6 < n < 66e6, n


def test_bfloat16_compute_is_close_to_float32():
    m32, m16 = tiny(), tiny(dtype="bfloat16")
    inputs = {"src": jnp.array([[4, 5, 6, 2, 0, 0, 0, 0]]), "tgt_in": jnp.array([[1, 4, 5, 6]])}
    y32, y16 = jax.jit(lambda: (m32(inputs), m16(inputs)))()
    assert y16.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(y16, np.float32), y32, atol=0.15)


def test_label_smoothing_loss_by_hand():
    logits = jnp.array([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    targets = jnp.array([0, 1])
    eps, K = 0.1, 3
    loss, _, _ = classification(logits, {"targets": targets}, label_smoothing=eps)
    expected = 0.0
    for row, y in zip(np.asarray(logits, np.float64), [0, 1]):
        log_p = row - np.log(np.sum(np.exp(row)))
        q = np.full(K, eps / K)
        q[y] += 1 - eps
        expected += -np.sum(q * log_p) / 2
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_inverse_sqrt_schedule_is_the_papers_formula():
    """lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5) with learning_rate = (d_model * warmup)^-0.5."""
    d_model, warmup = 512, 4000
    cfg = base_config()
    cfg.schedule.name, cfg.schedule.warmup_steps = "inverse_sqrt", warmup
    cfg.learning_rate = (d_model * warmup) ** -0.5
    lr = schedule(cfg)
    for step in (1, 100, 3999, 4000, 4001, 20000, 100000):
        paper = d_model ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)
        assert float(lr(step)) == pytest.approx(paper, rel=1e-5)


def test_paper_optimiser_in_configs():
    cfg = config("transformer_base_wmt14")
    assert (cfg.optimizer.name, cfg.optimizer.b1, cfg.optimizer.b2, cfg.optimizer.eps) == ("adam", 0.9, 0.98, 1e-9)
    assert cfg.schedule.name == "inverse_sqrt" and cfg.schedule.warmup_steps == 4000
    assert cfg.learning_rate == pytest.approx((512 * 4000) ** -0.5) and cfg.label_smoothing == 0.1
    for name in ("transformer_copy", "transformer_reverse", "transformer_sort"):
        assert config(name).model.name == "transformer"


def test_pictures_one_grid_per_kind_and_layer():
    model = tiny(num_encoder_layers=2)
    inputs = {"src": np.array([[4, 5, 6, 2, 0, 0, 0, 0]]), "tgt_in": np.array([[1, 6, 5, 4, 0, 0]])}
    images = model.pictures(inputs)
    assert sorted(images) == sorted(f"attention_{k}_layer{i}" for k in ("encoder_self", "decoder_self", "cross")
                                    for i in range(2))
    weights = model.attention_weights({k: jnp.asarray(v) for k, v in inputs.items()})
    cross = images["attention_cross_layer1"]
    np.testing.assert_allclose(cross.data, np.asarray(weights["cross"][1])[0, :, :4, :4], atol=1e-6)  # no padding
    assert cross.ytokens == (1, 6, 5, 4) and cross.xtokens == (4, 5, 6, 2)  # queries: target, keys: source tokens
    assert cross.kind == "heatmaps" and cross.xlabel.startswith("key") and cross.ylabel.startswith("query")
    w = np.asarray(weights["decoder_self"][0])
    assert np.all(np.triu(w[0, 0], 1) == 0.0)  # causal: no weight above the diagonal
    assert np.all(np.asarray(weights["cross"][1])[..., 4:] == 0.0)  # no weight on source padding
