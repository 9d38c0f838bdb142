"""The small CNN: shapes, parameter count, dtypes, config errors, and the fast path equal to the slide's math."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from lectarch.config import ConfigError
from lectarch.data.spec import DataSpec
from lectarch.models import build_model
from lectarch.ops import conv, pool
from tests.helpers import config

SPEC = DataSpec(input_shape=(8, 8, 1), num_outputs=10)


def _abstract(*overrides):
    cfg = config("cnn_digits", *overrides)
    return nnx.eval_shape(lambda: build_model(cfg, SPEC, nnx.Rngs(0)))

def shape_of(model, f, x: jax.ShapeDtypeStruct) -> jax.ShapeDtypeStruct:
    """``f(model, x)``'s shape and dtype for an abstract model (from nnx.eval_shape): nothing is computed."""
    graphdef, state = nnx.split(model)
    return jax.eval_shape(lambda s, x: f(nnx.merge(graphdef, s), x), state, x)



def _num_params(model) -> int:
    return sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


def test_shapes_and_parameter_count_of_conv_pool_conv_pool_dense():
    model = _abstract()
    y = shape_of(model, lambda m, x: m(x), jax.ShapeDtypeStruct((5, 8, 8, 1), jnp.float32))
    assert y.shape == (5, 10)
    # conv 3x3 1->16, pool 2 (8 -> 4), conv 3x3 16->32, pool 2 (4 -> 2), dense 2*2*32 -> 10
    assert _num_params(model) == (9 * 1 * 16 + 16) + (9 * 16 * 32 + 32) + (2 * 2 * 32 * 10 + 10)


def test_without_pooling_the_dense_layer_sees_every_position():
    model = _abstract("model.pool=none")
    h = shape_of(model, lambda m, x: m.features(x), jax.ShapeDtypeStruct((2, 8, 8, 1), jnp.float32))
    assert h.shape == (2, 8, 8, 32)
    assert _num_params(model) == (9 * 16 + 16) + (9 * 16 * 32 + 32) + (8 * 8 * 32 * 10 + 10)


def test_bfloat16_computes_in_bfloat16_with_float32_parameters():
    model = _abstract("model.dtype=bfloat16")
    y = shape_of(model, lambda m, x: m(x), jax.ShapeDtypeStruct((2, 8, 8, 1), jnp.float32))
    assert y.dtype == jnp.bfloat16
    assert {x.dtype for x in jax.tree.leaves(nnx.state(model, nnx.Param))} == {jnp.dtype(jnp.float32)}


@pytest.mark.parametrize("override,match", [("model.kernel_size=4", "odd"), ("model.pool=min", "pool"),
                                            ("model.channels=()", "channels"), ("model.remat=all", "remat")])
def test_bad_configs_are_one_line_errors(override, match):
    with pytest.raises(ConfigError, match=match):
        config("cnn_digits", override)


def test_a_2d_cnn_on_flat_inputs_is_a_one_line_error_from_the_data_shape_not_the_dataset_name():
    cfg = config("cnn_digits", "data.layout=flat")
    with pytest.raises(ConfigError, match=r"needs images .* shape \(64,\).*layout") as e:
        build_model(cfg, DataSpec((64,), 10), nnx.Rngs(0))
    assert "\n" not in str(e.value)


@pytest.fixture(scope="module")
def model():
    """One CNN with a hidden dense layer and dropout, built once (eager construction is slow on CPU)."""
    return build_model(config("cnn_digits", "model.hidden=32", "model.dropout=0.5"), SPEC, nnx.Rngs(3))


def test_the_fast_path_equals_conv_relu_pool_written_from_first_principles(model):
    graphdef, state = nnx.split(model)

    @jax.jit  # one compiled program: eager dispatch would compile every small op on its own
    def both(state, x):
        m = nnx.merge(graphdef, state)
        h = x
        for c in m.features.convs:
            h = conv.conv2d(h, c.kernel[...], (1, 1), (1, 1)) + c.bias[...][None, None, None, :]
            h = pool.max_pool2d(jax.nn.relu(h), (2, 2))
        logits_slow = m.out(jax.nn.relu(m.hidden(h.reshape(h.shape[0], -1))))
        return m.features(x), h, m(x), logits_slow

    fast, slow, logits, logits_slow = both(state, jax.random.uniform(jax.random.PRNGKey(1), (2, 8, 8, 1)))
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(logits, logits_slow, rtol=1e-5, atol=1e-5)


def test_dropout_only_in_training(model):
    graphdef, state = nnx.split(model)
    apply = jax.jit(lambda s, x, train, key: nnx.merge(graphdef, s)(x, train=train, rngs=nnx.Rngs(dropout=key)),
                    static_argnums=2)
    x, k1, k2 = jnp.ones((4, 8, 8, 1)), jax.random.PRNGKey(1), jax.random.PRNGKey(2)
    np.testing.assert_array_equal(apply(state, x, False, k1), apply(state, x, False, k2))
    assert not np.allclose(apply(state, x, True, k1), apply(state, x, True, k2))
