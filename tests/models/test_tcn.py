"""The TCN: causal (zero gradient from the future), receptive field analytic == measured == closed
form, weight normalisation as written, pictures readable at T = 40 and 1000, and it learns."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from lectarch.data.spec import DataSpec
from lectarch.models import build_model
from lectarch.models.cnn import Conv, Features, padding_for
from lectarch.models.tcn import receptive_field
from lectarch.ops import receptive_field as rf
from tests.helpers import config


def _tcn(T=32, *overrides, spec=None):
    cfg = config("tcn_adding", f"data.T={T}", *overrides)
    return build_model(cfg, spec or DataSpec((T, 2), 1), nnx.Rngs(0))


@pytest.mark.parametrize("family", ["many_to_one", "many_to_many"])
def test_output_at_t_has_exactly_zero_gradient_wrt_inputs_after_t(family):
    model = _tcn(32, "model.levels=3", "model.channels=8", f"model.family={family}")
    x = jnp.asarray(np.random.default_rng(0).normal(size=(1, 32, 2)), jnp.float32)
    graphdef, state = nnx.split(model)

    @jax.jit
    def jac(state, x):  # J[t, t'] = d (sum of channels of the top block at t) / d x[t']
        top = lambda x: nnx.merge(graphdef, state).feature_maps(x)[-1][1][0].sum(-1)  # noqa: E731
        return jax.jacrev(top)(x)[:, 0].sum(-1)

    J = np.asarray(jac(state, x))
    later = np.triu(np.ones_like(J, bool), k=1)
    assert np.all(J[later] == 0.0)
    assert np.all(J[np.diag_indices(32)] != 0.0)  # every step reads its own input
    y = model(x)
    assert y.shape == ((1, 1) if family == "many_to_one" else (1, 32, 1))


@pytest.mark.parametrize("levels,kernel", [(1, 2), (2, 3), (3, 3), (4, 2), (3, 5)])
def test_receptive_field_analytic_equals_measured_equals_closed_form(levels, kernel):
    T = 1 + 2 * (kernel - 1) * (2 ** levels - 1) + 7  # longer than the field: the first units see padding
    model = _tcn(T, f"model.levels={levels}", f"model.kernel_size={kernel}", "model.channels=4")
    rows = rf.receptive_fields(model.receptive_field_layers(), T)
    assert rows[-1].size == receptive_field(levels, kernel) == 1 + 2 * (kernel - 1) * (2 ** levels - 1)
    positive = rf.positive_copy(model)
    report = rf.compare_1d(lambda x: [m for _, m in positive.feature_maps(x)], (T, 2), rows)
    assert len(report) == 2 * levels and all(line.startswith("ok") for line in report), report


@pytest.mark.parametrize("c,L,k", [(1, 3, 3), (1, 4, 2), (3, 2, 3)])
def test_a_stack_of_c_convs_per_level_has_field_1_plus_c_k_minus_1_times_2_to_L_minus_1(c, L, k):
    layers = [Conv(1, 1, k, padding=padding_for("causal", k, 2 ** l), dilation=2 ** l) for l in range(L) for _ in range(c)]
    T = 1 + c * (k - 1) * (2 ** L - 1) + 3
    net = Features(layers, dims=1, rngs=nnx.Rngs(0))
    rows = rf.receptive_fields(net.receptive_field_layers(), T)
    assert rows[-1].size == 1 + c * (k - 1) * (2 ** L - 1)
    positive = rf.positive_copy(net)
    supports = rf.signal_supports(lambda x: [positive(x)], (T, 1), [[T - 1]])
    assert np.flatnonzero(supports[0][0]).tolist() == list(range(T - rows[-1].size, T))


def test_weight_norm_is_g_times_v_over_its_norm_and_starts_at_v():
    model = _tcn(16, "model.levels=1", "model.channels=4")
    conv = model.blocks[0].conv1
    v = np.asarray(conv.v[...])
    np.testing.assert_allclose(conv.weight(), v, rtol=1e-5)  # g starts at ||v||
    conv.g[...] = jnp.arange(1.0, 5.0)
    w = np.asarray(conv.weight())
    np.testing.assert_allclose(np.linalg.norm(w.reshape(-1, 4), axis=0), np.arange(1.0, 5.0), rtol=1e-5)
    plain = _tcn(16, "model.levels=1", "model.channels=4", "model.weight_norm=false").blocks[0].conv1
    assert plain.g is None


def test_token_inputs_are_embedded():
    model = _tcn(20, "model.levels=2", "model.family=many_to_many",
                 spec=DataSpec((40,), 9, input_vocab=10))
    assert model(jnp.zeros((3, 40), jnp.int32)).shape == (3, 40, 9)


@pytest.mark.parametrize("T", [40, 1000])
def test_pictures_are_images_of_one_width_at_any_length(T):
    from lectarch.viz import render

    model = _tcn(T, "model.levels=3", "model.channels=8")
    pics = model.pictures(np.random.default_rng(0).normal(size=(2, T, 2)).astype(np.float32))
    assert set(pics) == {"filters_layer1", "feature_maps"}
    assert pics["feature_maps"].kind == "signal" and [n for n, _ in pics["feature_maps"].maps] == [
        "level1.conv2", "level2.conv2", "level3.conv2"]
    maps = render.rendered("feature_maps", pics["feature_maps"], 0)
    assert maps.ndim == 3 and maps.shape[2] == 3 and maps.shape[1] == 900  # 9 inches at 100 dpi, any T
    assert maps.std() > 10  # not blank (uint8 pixels)


def test_tcn_learns_the_adding_problem_beyond_the_baseline(tmp_path):
    from lectarch.experiment import train

    cfg = config("tcn_adding", "data.T=30", "model.levels=3", "model.channels=16", "num_steps=300",
                 "eval_every=300", "checkpoint_every=300", "progress=false", "num_devices=1", "data.num_eval=256")
    result = train(cfg, tmp_path)
    assert result.last_eval["mse"] < 0.5 * (1 / 6), result.last_eval
    assert any((tmp_path / "pictures").glob("feature_maps*.png"))
