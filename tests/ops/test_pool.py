"""First-principles max pooling equals XLA's reduce_window."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lectarch.ops import pool


@st.composite
def pool_case(draw):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = (draw(st.integers(0, k[0] - 1)), (draw(st.integers(0, k[1] - 1)), draw(st.integers(0, k[1] - 1))))
    span = [di * (ki - 1) + 1 for di, ki in zip(d, k)]
    hw = (draw(st.integers(max(1, span[0] - 2 * pad[0]), 10)), draw(st.integers(max(1, span[1] - sum(pad[1])), 10)))
    return hw, k, s, pad, d, draw(st.integers(0, 2**31 - 1))


def both(first_principles, xla, *args):
    """Both implementations in one compiled program (eager op-by-op dispatch is far slower per shape)."""
    return jax.jit(lambda x: (first_principles(x, *args), xla(x, *args)))


@given(pool_case())
@settings(max_examples=15, deadline=None)
def test_max_pool2d_equals_reduce_window(case):
    (h, w), k, s, pad, d, seed = case
    x = jnp.asarray(np.random.default_rng(seed).normal(size=(2, h, w, 3)), jnp.float32)
    y, y_xla = both(pool.max_pool2d, pool.max_pool2d_xla, k, s, pad, d)(x)
    np.testing.assert_array_equal(y, y_xla)
    if d == (1, 1):  # the models' path (no dilation)
        np.testing.assert_array_equal(jax.jit(lambda x: pool.max_pool2d_slices(x, k, s, pad))(x), y_xla)


@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 3), st.integers(1, 2), st.integers(0, 6),
       st.integers(0, 2**31 - 1))
@settings(max_examples=15, deadline=None)
def test_max_pool1d_equals_reduce_window(k, s, p, d, extra, seed):
    p = min(p, k - 1)
    n = max(1, d * (k - 1) + 1 - 2 * p) + extra  # every size the window fits
    x = jnp.asarray(np.random.default_rng(seed).normal(size=(2, n, 2)), jnp.float32)
    y, y_xla = both(pool.max_pool1d, pool.max_pool1d_xla, k, s, p, d)(x)
    np.testing.assert_array_equal(y, y_xla)


def test_worked_example_by_hand():
    x = jnp.array([[1.0, 3.0, 2.0, 0.0],
                   [4.0, 2.0, 1.0, 5.0],
                   [0.0, 1.0, 7.0, 2.0],
                   [3.0, 6.0, 1.0, 1.0]])[None, :, :, None]
    np.testing.assert_array_equal(pool.max_pool2d(x, (2, 2))[0, :, :, 0], [[4, 5], [6, 7]])
    # padding never wins, even when every real value is negative
    np.testing.assert_array_equal(pool.max_pool1d(-jnp.ones((1, 3, 1)), 2, 2, 1)[0, :, 0], [-1, -1])
