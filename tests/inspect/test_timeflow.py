"""Gradients through time: the one-pass probe equals brute force in float64, and dh_T/dh_t is the
product of step Jacobians."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from lectarch.data.spec import DataSpec
from lectarch.inspect import timeflow
from lectarch.models import recurrent
from lectarch.models.cells import ElmanCell, LSTMCell
from lectarch.models.scan import python_unroll, scan

T, B, D, H = 6, 2, 2, 3


def _f64(tree):
    return jax.tree.map(lambda v: jnp.asarray(v, jnp.float64), tree)


def _setup(cell, seed=0):
    params = _f64(cell.init_params(jax.random.key(seed), D))
    x = jax.random.normal(jax.random.key(seed + 1), (T, B, D), jnp.float64)
    carry0 = _f64(cell.init_carry(B))
    w = jax.random.normal(jax.random.key(seed + 2), (T, B, H), jnp.float64)
    readout = lambda y_TxBxH: jnp.sum(jnp.tanh(y_TxBxH) * w)  # noqa: E731 - every y_t counts
    return params, x, carry0, readout


def _brute_force(cell, params, x, carry0, readout, t: int, key: str) -> jax.Array:
    """dL/d(state ``key`` after step t): run to step t, inject that state as an explicit input, finish."""
    carry, ys = carry0, []
    for s in range(t + 1):
        carry, y = cell.step(params, carry, cell.project(params, x[s]))
        ys.append(y)

    def loss_from(state_t):
        c = dict(carry, **{key: state_t})
        outs = ys[:t] + [c["h"]]
        for s in range(t + 1, T):
            c, y = cell.step(params, c, cell.project(params, x[s]))
            outs.append(y)
        return readout(jnp.stack(outs))

    return jax.grad(loss_from)(carry[key])


@pytest.mark.parametrize("cell", [ElmanCell(H), LSTMCell(H)], ids=["rnn", "lstm"])
def test_one_backward_pass_gives_dL_dh_t_of_brute_force_for_every_t(cell):
    with jax.enable_x64(True):
        params, x, carry0, readout = _setup(cell)
        zeros = {k: jnp.zeros((T, B, H), jnp.float64) for k in ("h", "c") if k in carry0}

        def loss_of(d):
            return readout(scan(cell, params, x, carry0=carry0, perturbations=d, projection="inside")[1])

        grads = timeflow.hidden_grads(loss_of, zeros)
        for key in zeros:
            brute = jax.jit(lambda p, x, key=key: jnp.stack(
                [_brute_force(cell, p, x, carry0, readout, t, key) for t in range(T)]))(params, x)
            np.testing.assert_allclose(grads[key], brute, rtol=1e-10, atol=1e-12, err_msg=f"dL/d{key}_t")
        assert np.all(timeflow.time_norms(grads["h"]) > 0)


@pytest.mark.parametrize("cell", [ElmanCell(H), LSTMCell(H)], ids=["rnn", "lstm"])
def test_dhT_dht_is_the_product_of_step_jacobians(cell):
    with jax.enable_x64(True):
        params, x, carry0, _ = _setup(cell, seed=3)
        x1 = x[:, 0]
        products = timeflow.dhT_dht(cell, params, x1, [1, 4, T])
        np.testing.assert_allclose(products[T], np.eye(H), atol=1e-12)  # dh_T/dh_T = I
        for t in (1, 4):
            def h_T(dh_t, t=t):
                d = {"h": jnp.zeros((T, 1, H), jnp.float64).at[t - 1, 0].set(dh_t)}
                carry, _ = python_unroll(cell, params, x1[:, None], carry0=_f64(cell.init_carry(1)), perturbations=d)
                return carry["h"][0]

            direct = jax.jacfwd(h_T)(jnp.zeros(H, jnp.float64))
            np.testing.assert_allclose(products[t], direct, rtol=1e-9, atol=1e-12)


def test_an_rnn_with_recurrent_spectral_norm_below_one_forgets_geometrically():
    cell = ElmanCell(H)
    params = cell.init_params(jax.random.key(0), D)
    params["R"] = 0.5 * params["R"]  # orthogonal at init: ||R||_2 = 0.5, and |tanh'| <= 1
    x = jax.random.normal(jax.random.key(1), (T, D))
    svals = timeflow.singular_values(timeflow.dhT_dht(cell, params, x, list(range(1, T + 1))))
    for t in range(1, T + 1):
        assert svals[t][0] <= 0.5 ** (T - t) * (1 + 1e-5)


def test_model_probe_matches_a_finite_difference_of_the_loss():
    """The model's perturbation keyword, as the probe uses it: the directional derivative of the loss."""
    m = recurrent.default_config("lstm")
    m.hidden, m.layers = 4, 2
    model = recurrent.build(m, DataSpec((T, D), 1), nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(2), (B, T, D))
    loss_of = jax.jit(lambda d: jnp.sum(model(x, perturbations=d) ** 2))
    zeros = model.zero_perturbations(x)
    assert set(zeros) == {"0.h", "0.c", "1.h", "1.c"}
    grads = timeflow.hidden_grads(loss_of, zeros)
    e = jnp.asarray(np.random.default_rng(0).normal(size=(B, m.hidden)), jnp.float32)
    for key, t in (("0.h", 1), ("0.c", 3), ("1.h", 5)):
        eps = 1e-2  # float32: central differences are accurate to ~1e-4 relative here
        bump = lambda s: dict(zeros, **{key: zeros[key].at[t].set(s * eps * e)})  # noqa: E731
        fd = (loss_of(bump(1.0)) - loss_of(bump(-1.0))) / (2 * eps)
        np.testing.assert_allclose(jnp.sum(grads[key][t] * e), fd, rtol=2e-3)
    assert not np.any(np.asarray(grads["1.c"][-1]))  # many-to-one reads h_T, not c_T
