"""The cells against hand-written NumPy versions of the lecture's equations, the variants against
their definitions, and gradients against finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from lectarch.models.cells import VARIANTS, ElmanCell, LSTMCell

B, D, H = 3, 4, 5


def sigma(x):
    return 1 / (1 + np.exp(-x))


def numpy_lstm_step(P, x, y_prev, c_prev, *, no_i=False, no_f=False, no_o=False, g=np.tanh, h=np.tanh,
                    peepholes=True, coupled=False, gates_prev=None, R_gates=None):
    """The six equations, one per line, with per-gate matrices W_z, R_z, ... (the slide's notation)."""
    p = (lambda k: P["p_" + k]) if peepholes else (lambda k: 0.0)
    rg = {"i": 0.0, "f": 0.0, "o": 0.0}
    if R_gates is not None:
        rgi, rgf, rgo = np.split(gates_prev @ R_gates, 3, axis=-1)
        rg = {"i": rgi, "f": rgf, "o": rgo}
    z = g(x @ P["W_z"] + y_prev @ P["R_z"] + P["b_z"])
    i = 1.0 if no_i else sigma(x @ P["W_i"] + y_prev @ P["R_i"] + p("i") * c_prev + P["b_i"] + rg["i"])
    f = 1.0 if no_f else sigma(x @ P["W_f"] + y_prev @ P["R_f"] + p("f") * c_prev + P["b_f"] + rg["f"])
    if coupled:
        f = 1.0 - i
    c = z * i + c_prev * f
    o = 1.0 if no_o else sigma(x @ P["W_o"] + y_prev @ P["R_o"] + p("o") * c + P["b_o"] + rg["o"])
    y = h(c) * o
    return y, c


def per_gate_params(rng) -> dict:
    P = {}
    for k in "zifo":
        P[f"W_{k}"] = rng.normal(size=(D, H)) * 0.5
        P[f"R_{k}"] = rng.normal(size=(H, H)) * 0.5
        P[f"b_{k}"] = rng.normal(size=(H,)) * 0.5
    for k in "ifo":
        P[f"p_{k}"] = rng.normal(size=(H,)) * 0.5
    P["R_gates"] = rng.normal(size=(3 * H, 3 * H)) * 0.3
    return P


def fused(cell: LSTMCell, P: dict) -> dict:
    """The cell's fused parameters (W = [W_z W_i ...]) holding exactly the per-gate NumPy ones."""
    params = {"W": np.concatenate([P[f"W_{k}"] for k in cell.gates], 1),
              "R": np.concatenate([P[f"R_{k}"] for k in cell.gates], 1),
              "b": np.concatenate([P[f"b_{k}"] for k in cell.gates])}
    params.update({f"p_{k}": P[f"p_{k}"] for k in cell.peepholes})
    if cell.variant == "FGR":
        params["R_gates"] = P["R_gates"]
    assert set(params) == set(cell.init_params(jax.random.PRNGKey(0), D)), "parameter names differ from init"
    return {k: jnp.asarray(v, jnp.float32) for k, v in params.items()}


# What each variant changes in the NumPy equations (Greff et al. 2017, table 1).
DEFINITIONS = {
    "full": {}, "NIG": {"no_i": True}, "NFG": {"no_f": True}, "NOG": {"no_o": True},
    "NIAF": {"g": lambda x: x}, "NOAF": {"h": lambda x: x}, "NP": {"peepholes": False},
    "CIFG": {"coupled": True}, "FGR": {"R_gates": True},
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_lstm_variant_matches_its_numpy_definition(variant):
    rng = np.random.default_rng(0)
    P = per_gate_params(rng)
    x, y_prev, c_prev = rng.normal(size=(B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    gates_prev = sigma(rng.normal(size=(B, 3 * H)))
    cell = LSTMCell(H, variant=variant)
    params = fused(cell, P)
    carry = {"c": jnp.asarray(c_prev, jnp.float32), "h": jnp.asarray(y_prev, jnp.float32)}
    kw = dict(DEFINITIONS[variant])
    if variant == "FGR":
        carry["gates"] = jnp.asarray(gates_prev, jnp.float32)
        kw.update(gates_prev=gates_prev, R_gates=P["R_gates"])
    new, y = jax.jit(cell.step)(params, carry, cell.project(params, jnp.asarray(x, jnp.float32)))
    y_ref, c_ref = numpy_lstm_step(P, x, y_prev, c_prev, **kw)
    np.testing.assert_allclose(y, y_ref, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(new["c"], c_ref, rtol=2e-5, atol=2e-5)
    np.testing.assert_array_equal(new["h"], y)
    if variant != "full":  # the change is real: the full LSTM's numbers differ
        y_full, _ = numpy_lstm_step(P, x, y_prev, c_prev)
        assert np.abs(y_full - y_ref).max() > 1e-3


def test_variants_own_exactly_the_parameters_their_definition_keeps():
    full = LSTMCell(H)
    assert full.gates == ("z", "i", "f", "o") and full.peepholes == ("i", "f", "o")
    assert LSTMCell(H, variant="NIG").gates == ("z", "f", "o")
    assert LSTMCell(H, variant="NFG").gates == ("z", "i", "o")
    assert LSTMCell(H, variant="CIFG").gates == ("z", "i", "o")
    assert LSTMCell(H, variant="NOG").peepholes == ("i", "f")
    assert LSTMCell(H, variant="NP").peepholes == ()
    shapes = jax.tree.map(jnp.shape, LSTMCell(H, variant="FGR").init_params(jax.random.PRNGKey(0), D))
    assert shapes == {"W": (D, 4 * H), "R": (H, 4 * H), "b": (4 * H,), "p_i": (H,), "p_f": (H,), "p_o": (H,),
                      "R_gates": (3 * H, 3 * H)}
    with pytest.raises(ValueError, match="unknown LSTM variant"):
        LSTMCell(H, variant="XYZ")


@pytest.mark.parametrize("forget_bias", [0.0, 2.5])
def test_forget_gate_bias_initialisation(forget_bias):
    cell = LSTMCell(H, forget_bias=forget_bias)
    b = cell.init_params(jax.random.PRNGKey(1), D)["b"].reshape(4, H)
    np.testing.assert_array_equal(b[cell.gates.index("f")], forget_bias)
    np.testing.assert_array_equal(np.asarray(b)[[0, 1, 3]], 0.0)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_elman_step_matches_numpy(activation):
    rng = np.random.default_rng(1)
    cell = ElmanCell(H, activation=activation)
    params = {"W": rng.normal(size=(D, H)), "R": rng.normal(size=(H, H)), "b": rng.normal(size=(H,))}
    x, h_prev = rng.normal(size=(B, D)), rng.normal(size=(B, H))
    act = np.tanh if activation == "tanh" else (lambda v: np.maximum(v, 0))
    jparams = {k: jnp.asarray(v, jnp.float32) for k, v in params.items()}
    new, y = cell.step(jparams, {"h": jnp.asarray(h_prev, jnp.float32)}, cell.project(jparams, jnp.asarray(x, jnp.float32)))
    np.testing.assert_allclose(y, act(x @ params["W"] + h_prev @ params["R"] + params["b"]), rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("cell", [LSTMCell(H), ElmanCell(H)], ids=["lstm", "elman"])
def test_gradients_match_finite_differences_in_float64(cell):
    with jax.enable_x64(True):  # float64 only inside this test
        params = jax.tree.map(lambda a: a.astype(jnp.float64), cell.init_params(jax.random.PRNGKey(2), D))
        x_TxBxD = jax.random.normal(jax.random.PRNGKey(3), (3, B, D), jnp.float64)

        def loss(params, x_TxBxD):
            carry = jax.tree.map(lambda a: a.astype(jnp.float64), cell.init_carry(B))
            total = 0.0
            for t in range(x_TxBxD.shape[0]):
                carry, y = cell.step(params, carry, cell.project(params, x_TxBxD[t]))
                total = total + jnp.sum(jnp.sin(y))
            return total

        check_grads(jax.jit(loss), (params, x_TxBxD), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)


def test_step_fn_gives_the_recurrent_jacobian():
    cell = LSTMCell(H)
    params = cell.init_params(jax.random.PRNGKey(4), D)
    xw = cell.project(params, jax.random.normal(jax.random.PRNGKey(5), (1, D)))
    carry = {"c": jnp.full((1, H), 0.3), "h": jnp.full((1, H), -0.2)}
    step = jax.jit(cell.step_fn(params))
    J = jax.jit(jax.jacrev(lambda h: step({"c": carry["c"], "h": h}, xw)[1]))(carry["h"])
    assert J.shape == (1, H, 1, H)
    eps = 1e-3 * jnp.eye(H)[0][None]
    fd = (step({"c": carry["c"], "h": carry["h"] + eps}, xw)[1] - step({"c": carry["c"], "h": carry["h"] - eps}, xw)[1]) / 2e-3
    np.testing.assert_allclose(J[0, :, 0, 0], fd[0], atol=1e-3)
