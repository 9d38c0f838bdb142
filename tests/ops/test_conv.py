"""First-principles cross-correlation equals XLA's convolution for any shape, stride, padding, dilation."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lectarch.ops import conv

SETTINGS = settings(max_examples=15, deadline=None)


def both(first_principles, xla, *args):
    """Both implementations in one compiled program (eager op-by-op dispatch is far slower per shape)."""
    return jax.jit(lambda x, w: (first_principles(x, w, *args), xla(x, w, *args)))


@st.composite
def conv1d_case(draw):
    k, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pad = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    n = draw(st.integers(max(1, d * (k - 1) + 1 - sum(pad)), 12))
    b, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return n, k, s, pad, d, b, c, o, draw(st.integers(0, 2**31 - 1))


@given(conv1d_case())
@SETTINGS
def test_conv1d_equals_lax_conv_general_dilated(case):
    n, k, s, pad, d, b, c, o, seed = case
    rng = np.random.default_rng(seed)
    x, w = jnp.asarray(rng.normal(size=(b, n, c)), jnp.float32), jnp.asarray(rng.normal(size=(k, c, o)), jnp.float32)
    y, y_xla = both(conv.conv1d, conv.conv1d_xla, s, pad, d)(x, w)
    assert y.shape == (b, conv.output_size(n, k, s, pad, d), o)
    np.testing.assert_allclose(y, y_xla, rtol=1e-5, atol=1e-5)


@st.composite
def conv2d_case(draw):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = (draw(st.integers(0, 2)), (draw(st.integers(0, 2)), draw(st.integers(0, 2))))  # symmetric and (lo, hi)
    span = [di * (ki - 1) + 1 for di, ki in zip(d, k)]
    hw = (draw(st.integers(max(1, span[0] - 2 * pad[0]), 10)), draw(st.integers(max(1, span[1] - sum(pad[1])), 10)))
    return hw, k, s, pad, d, draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(0, 2**31 - 1))


@given(conv2d_case())
@SETTINGS
def test_conv2d_equals_lax_conv_general_dilated(case):
    (h, w_), k, s, pad, d, c, o, seed = case
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.normal(size=(2, h, w_, c)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(*k, c, o)), jnp.float32)
    y, y_xla = both(conv.conv2d, conv.conv2d_xla, s, pad, d)(x, w)
    assert y.shape == (2, conv.output_size(h, k[0], s[0], pad[0], d[0]), conv.output_size(w_, k[1], s[1], pad[1], d[1]), o)
    np.testing.assert_allclose(y, y_xla, rtol=1e-5, atol=1e-5)


def test_worked_example_by_hand():
    # x = 1 2 3 4 5, w = 1 0 -1: y[i] = x[i] - x[i+2] = -2 everywhere; stride 2 keeps y[0], y[2].
    x = jnp.arange(1.0, 6.0)[None, :, None]
    w = jnp.array([1.0, 0.0, -1.0])[:, None, None]
    np.testing.assert_array_equal(conv.conv1d(x, w)[0, :, 0], [-2, -2, -2])
    np.testing.assert_array_equal(conv.conv1d(x, w, stride=2)[0, :, 0], [-2, -2])
    # padding 1: x_pad = 0 1 2 3 4 5 0 -> y = 0-2, 1-3, 2-4, 3-5, 4-0
    np.testing.assert_array_equal(conv.conv1d(x, w, padding=1)[0, :, 0], [-2, -2, -2, -2, 4])
    # dilation 2: taps x[i], x[i+2], x[i+4] -> only y[0] = 1 - 5
    np.testing.assert_array_equal(conv.conv1d(x, w, dilation=2)[0, :, 0], [-4])


def test_patches_are_the_windows_the_formula_names():
    x = jnp.arange(6.0 * 7.0).reshape(1, 6, 7, 1)
    p = conv.patches_2d(x, (2, 3), (2, 1), (1, 0), (1, 2))
    i, j, u, v = 1, 2, 1, 2  # p[i, j, u, v] = x_pad[s*i + d*u, s*j + d*v]
    x_pad = np.pad(np.asarray(x[0, :, :, 0]), ((1, 1), (0, 0)))
    assert p[0, i, j, u, v, 0] == x_pad[2 * i + 1 * u, 1 * j + 2 * v]


def test_output_size_formula():
    assert conv.output_size(224, 11, 4, 2) == 55  # AlexNet's first layer
    assert conv.output_size(55, 3, 2) == 27
    assert conv.output_size(13, 3, 1, 1) == 13  # "same" padding
