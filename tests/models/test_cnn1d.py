"""The 1-D CNN: its layers equal the first-principles ops and XLA's, causal padding is causal, it learns.

The property tests draw geometries (stride, padding mode, dilation, window) and compare the model's
fast path (``nnx.Conv`` on ``B x T x C``, strided-slice max pooling, ``reduce_window`` averages) with
``lectarch.ops`` (patches times kernel; max over windows) and with NumPy.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from lectarch.config import ConfigError
from lectarch.data.spec import DataSpec
from lectarch.models import build_model
from lectarch.models.cnn import Conv, Features, Pool, padding_for
from lectarch.ops import conv, pool
from tests.helpers import config

SETTINGS = settings(max_examples=12, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate))


@st.composite
def conv_case(draw):
    k, s, d = draw(st.integers(1, 5)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    mode = draw(st.sampled_from(("same", "causal", "valid")))
    n = draw(st.integers(d * (k - 1) + 1, 20))
    return n, k, s, d, mode, draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(0, 2**31 - 1))


@given(conv_case())
@SETTINGS
def test_a_1d_conv_layer_equals_first_principles_and_lax_conv(case):
    n, k, s, d, mode, c, o, seed = case
    net = Features([Conv(c, o, k, s, padding_for(mode, k, d), d)], dims=1, rngs=nnx.Rngs(seed % 1000))
    x = jnp.asarray(np.random.default_rng(seed).normal(size=(2, n, c)), jnp.float32)
    w, b = net.convs[0].kernel[...], net.convs[0].bias[...]
    pad = padding_for(mode, k, d)
    y, y_ops, y_xla = jax.jit(lambda x: (net(x), conv.conv1d(x, w, s, pad, d) + b[None, None, :],
                                              conv.conv1d_xla(x, w, s, pad, d) + b[None, None, :]))(x)
    assert y.shape == (2, conv.output_size(n, k, s, pad, d), o)
    if mode != "valid" and s == 1:
        assert y.shape[1] == n  # same and causal keep the length
    np.testing.assert_allclose(y, y_ops, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y, y_xla, rtol=1e-5, atol=1e-5)


@st.composite
def pool_case(draw):
    window = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 4))
    padding = draw(st.integers(0, window // 2))
    n = draw(st.integers(window, 17))
    return n, window, stride, padding, draw(st.integers(0, 2**31 - 1))


@given(pool_case())
@SETTINGS
def test_1d_max_and_average_pooling_equal_the_ops_reduce_window_and_numpy(case):
    n, window, stride, padding, seed = case
    x = np.random.default_rng(seed).normal(size=(2, n, 3)).astype(np.float32)
    mx = Features([Pool(window, stride, padding, "max")], dims=1, rngs=nnx.Rngs(0))
    av = Features([Pool(window, stride, padding, "avg")], dims=1, rngs=nnx.Rngs(0))
    y_max, y_avg = jax.jit(lambda x: (mx(x), av(x)))(jnp.asarray(x))
    np.testing.assert_array_equal(y_max, pool.max_pool1d(jnp.asarray(x), window, stride, padding))
    np.testing.assert_array_equal(y_max, pool.max_pool1d_xla(jnp.asarray(x), window, stride, padding))
    x_pad = np.pad(x, ((0, 0), (padding, padding), (0, 0)))  # average pooling counts padded zeros
    n_out = (n + 2 * padding - window) // stride + 1
    want = np.stack([x_pad[:, i * stride:i * stride + window].mean(axis=1) for i in range(n_out)], axis=1)
    np.testing.assert_allclose(y_avg, want, rtol=1e-5, atol=1e-6)


def test_causal_cnn_output_at_t_has_exactly_zero_gradient_wrt_later_inputs():
    cfg = config("cnn1d_digits", "model.padding=causal", "model.pool=none", "model.dilation=2")
    model = build_model(cfg, DataSpec((24, 2), 10), nnx.Rngs(0))
    x = jnp.asarray(np.random.default_rng(0).normal(size=(1, 24, 2)), jnp.float32)
    J = jax.jit(jax.jacrev(lambda x: model.features(x)[0].sum(-1)))(x)[:, 0].sum(-1)  # J[t, t'] = d y_t / d x_t'
    J = np.asarray(J)
    later = np.triu(np.ones_like(J, bool), k=1)
    assert np.all(J[later] == 0.0)
    assert np.count_nonzero(J[~later]) > J.shape[0]  # and it does depend on the past


def test_dims_follow_the_data_and_same_keys_mean_the_same():
    cfg = config("cnn1d_digits", "model.dims=0")
    m1 = nnx.eval_shape(lambda: build_model(cfg, DataSpec((64, 1), 10), nnx.Rngs(0)))
    m2 = nnx.eval_shape(lambda: build_model(cfg, DataSpec((8, 8, 1), 10), nnx.Rngs(0)))
    assert m1.features.dims == 1 and m1.features.convs[0].kernel.shape == (5, 1, 16)
    assert m2.features.dims == 2 and m2.features.convs[0].kernel.shape == (5, 5, 1, 16)
    m3 = nnx.eval_shape(lambda: build_model(cfg, DataSpec((64,), 10), nnx.Rngs(0)))  # (T,): one channel
    assert m3.features.convs[0].kernel.shape == (5, 1, 16)


@pytest.mark.parametrize("override,match", [
    (("model.dims=2", "model.padding=causal", "data.layout=image", "data.as_sequence=none"), "causal"),
    (("data.as_sequence=rows",), "as_sequence"),
    (("model.padding=left",), "padding"),
])
def test_bad_1d_configs_are_one_line_errors(override, match):
    with pytest.raises(ConfigError, match=match) as e:
        cfg = config("cnn1d_digits", *override)
        from lectarch.data import build_dataset

        build_dataset(cfg)
    assert "\n" not in str(e.value)


def test_sequential_digits_cnn_trains_beats_the_guess_and_writes_1d_pictures(tmp_path):
    from lectarch.experiment import train

    cfg = config("cnn1d_digits", "progress=false", "num_steps=300", "eval_every=300", "checkpoint_every=300",
                 "num_devices=1")
    result = train(cfg, tmp_path)
    assert result.last_eval["accuracy"] > 0.6, result.last_eval  # a guess: 0.1
    written = {p.name.rsplit("_", 1)[0] for p in (tmp_path / "pictures").glob("*.png")}
    assert {"filters_layer1", "feature_maps"} <= written, written
