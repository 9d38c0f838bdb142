"""lax.scan equals the Python unroll; masks make padding a no-op; perturbations give dL/dh_t."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lectarch.models.cells import ElmanCell, LSTMCell
from lectarch.models.scan import bptt_scan, python_unroll, scan

T, B, D, H = 6, 3, 4, 5
CELLS = {"lstm": LSTMCell(H), "fgr": LSTMCell(H, variant="FGR"), "elman": ElmanCell(H)}


def setup(cell, seed=0):
    params = cell.init_params(jax.random.PRNGKey(seed), D)
    x = jax.random.normal(jax.random.PRNGKey(seed + 1), (T, B, D))
    return params, x


@pytest.mark.parametrize("name,projection,unroll,reverse", [
    ("lstm", "hoisted", 1, False), ("lstm", "inside", 3, False), ("lstm", "hoisted", 2, True),
    ("fgr", "inside", 1, True), ("elman", "hoisted", 1, False)])
def test_scan_equals_python_unroll(name, projection, unroll, reverse):
    cell = CELLS[name]
    params, x = setup(cell)
    carry_s, y_s = jax.jit(lambda p, x: scan(cell, p, x, projection=projection, unroll=unroll, reverse=reverse))(params, x)
    carry_p, y_p = python_unroll(cell, params, x, reverse=reverse)
    np.testing.assert_allclose(y_s, y_p, rtol=1e-5, atol=1e-5)
    for k in carry_p:
        np.testing.assert_allclose(carry_s[k], carry_p[k], rtol=1e-5, atol=1e-5)
    # the scan really recurs: the last output depends on the first input
    _, y_other = python_unroll(cell, params, x.at[0 if not reverse else T - 1].add(1.0), reverse=reverse)
    assert np.abs(np.asarray(y_other[T - 1 if not reverse else 0] - y_p[T - 1 if not reverse else 0])).max() > 1e-4


@pytest.mark.parametrize("reverse", [False, True])
def test_masked_padding_has_no_effect(reverse):
    cell = CELLS["lstm"]
    params, x = setup(cell, seed=3)
    lengths = [T, 4, 2]
    mask_TxB = (jnp.arange(T)[:, None] < jnp.asarray(lengths)[None, :]).astype(jnp.float32)
    x_padded = jnp.where(mask_TxB[:, :, None] > 0, x, 100.0)  # garbage in the padding
    run = jax.jit(lambda x, m: scan(cell, params, x, mask_TxB=m, reverse=reverse))
    carry, y = run(x_padded, mask_TxB)
    for b, n in enumerate(lengths):
        carry_b, y_b = python_unroll(cell, params, x[:n, b:b + 1], reverse=reverse)  # the sequence alone
        np.testing.assert_allclose(y[:n, b], y_b[:, 0], rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(y[n:, b], 0.0)
        np.testing.assert_allclose(carry["h"][b], carry_b["h"][0], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(carry["c"][b], carry_b["c"][0], rtol=1e-5, atol=1e-5)


def test_zero_perturbations_change_nothing_and_their_gradient_is_dL_dh():
    cell = CELLS["lstm"]
    params, x = setup(cell, seed=5)
    w_TxBxH = jax.random.normal(jax.random.PRNGKey(9), (T, B, H))

    def loss(pert):
        _, y = scan(cell, params, x, perturbations=pert)
        return jnp.sum(jnp.sin(y) * w_TxBxH)

    zeros = {"h": jnp.zeros((T, B, H)), "c": jnp.zeros((T, B, H))}
    _, y0 = scan(cell, params, x)
    np.testing.assert_allclose(scan(cell, params, x, perturbations=zeros)[1], y0, rtol=1e-6, atol=1e-6)
    grads = jax.jit(jax.grad(loss))(zeros)
    assert grads["h"].shape == (T, B, H) and grads["c"].shape == (T, B, H)
    # at the last step h_T feeds only the output: dL/dh_T = w * cos(y_T)
    np.testing.assert_allclose(grads["h"][-1], w_TxBxH[-1] * jnp.cos(y0[-1]), rtol=1e-5, atol=1e-6)
    # at earlier steps: a finite difference along a random direction at step 2
    v = jax.random.normal(jax.random.PRNGKey(11), (B, H))
    eps = 1e-2
    bump = lambda s: {"h": zeros["h"].at[2].set(s * v), "c": zeros["c"]}  # noqa: E731
    fd = (loss(bump(eps)) - loss(bump(-eps))) / (2 * eps)
    np.testing.assert_allclose(jnp.sum(grads["h"][2] * v), fd, rtol=2e-3, atol=1e-4)
    # and python_unroll agrees on what a perturbation does
    pert = {"h": 0.1 * w_TxBxH}
    np.testing.assert_allclose(scan(cell, params, x, perturbations=pert)[1],
                               python_unroll(cell, params, x, perturbations=pert)[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,projection,reverse", [("lstm", "inside", False), ("fgr", "hoisted", True)])
def test_explicit_bptt_gives_the_gradients_of_autodiff(name, projection, reverse):
    """Every input of the scan: parameters, inputs, initial carry, perturbations; with a mask."""
    cell = CELLS[name]
    params, x = setup(cell, seed=7)
    carry0 = jax.tree.map(lambda a: a + 0.3, cell.init_carry(B))
    mask = (jnp.arange(T)[:, None] < jnp.array([T, 3, 5])[None, :]).astype(jnp.float32)
    pert = {"h": 0.05 * jax.random.normal(jax.random.PRNGKey(8), (T, B, H))}

    def loss(fn, params, x, carry0, pert):
        carry, y = fn(cell, params, x, carry0=carry0, mask_TxB=mask, perturbations=pert, reverse=reverse,
                      projection=projection)
        return jnp.sum(jnp.sin(y)) + jnp.sum(carry["h"] ** 2)

    autodiff = lambda *a, **k: scan(*a, bptt="autodiff", **k)  # noqa: E731
    g_auto = jax.jit(jax.grad(lambda *a: loss(autodiff, *a), argnums=(0, 1, 2, 3)))(params, x, carry0, pert)
    g_expl = jax.jit(jax.grad(lambda *a: loss(bptt_scan, *a), argnums=(0, 1, 2, 3)))(params, x, carry0, pert)
    for a, b in zip(jax.tree.leaves(g_auto), jax.tree.leaves(g_expl)):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    assert set(g_expl[0]) == set(params) and float(jnp.abs(g_expl[0]["R"]).max()) > 0


def test_program_size_does_not_grow_with_T():
    """The scan body is traced once: the same number of operations for T=10 and T=1000 (hence a
    compile time flat in T; the timing itself is measured by python -m experiments.bench)."""
    cell = CELLS["lstm"]
    params = cell.init_params(jax.random.PRNGKey(0), D)

    def equations(jaxpr) -> int:
        n = 0
        for eqn in jaxpr.eqns:
            n += 1
            for v in eqn.params.values():
                for sub in (v if isinstance(v, (tuple, list)) else [v]):
                    inner = getattr(sub, "jaxpr", sub)
                    if hasattr(inner, "eqns"):
                        n += equations(inner)
        return n

    def count(T, bptt):
        def loss(p, x):
            return jnp.sum(scan(cell, p, x, bptt=bptt)[1])
        return equations(jax.make_jaxpr(jax.grad(loss))(params, jnp.zeros((T, B, D))).jaxpr)

    for bptt in ("explicit", "autodiff"):
        assert count(10, bptt) == count(1000, bptt) > 20
