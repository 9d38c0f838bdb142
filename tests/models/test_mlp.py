import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from lectarch.data.spec import DataSpec
from lectarch.models import build_model
from tests.helpers import config


def test_mlp_shapes_and_parameter_count():
    cfg = config("mlp_digits", "model.depth=3", "model.width=16")
    model = build_model(cfg, DataSpec((8, 8, 1), 10), nnx.Rngs(0))
    out = model(jnp.ones((5, 8, 8, 1)))
    assert out.shape == (5, 10)
    n = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
    assert n == (64 * 16 + 16) + 2 * (16 * 16 + 16) + (16 * 10 + 10)


def test_mlp_is_the_lecture_formula():
    cfg = config("mlp_digits", "model.depth=1", "model.width=4", "model.activation=tanh")
    model = build_model(cfg, DataSpec((3,), 2), nnx.Rngs(1))
    x = np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32)
    w1, b1 = np.asarray(model.hidden[0].kernel[...]), np.asarray(model.hidden[0].bias[...])
    w2, b2 = np.asarray(model.out.kernel[...]), np.asarray(model.out.bias[...])
    np.testing.assert_allclose(model(x), np.tanh(x @ w1 + b1) @ w2 + b2, rtol=1e-5, atol=1e-6)


def test_dropout_only_when_training():
    cfg = config("mlp_digits", "model.dropout=0.5")
    model = build_model(cfg, DataSpec((64,), 10), nnx.Rngs(0))
    x = jnp.ones((4, 64))
    np.testing.assert_array_equal(model(x), model(x))
    a = model(x, train=True, rngs=nnx.Rngs(dropout=1))
    b = model(x, train=True, rngs=nnx.Rngs(dropout=2))
    assert not np.allclose(a, b)
