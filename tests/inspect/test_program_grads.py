"""Every intermediate's gradient in one backward pass equals brute force (split the program at
that value, differentiate the rest) in float64, on the MLP, the LSTM and the Transformer."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lectarch.experiment import build_run
from lectarch.inspect import timeflow
from lectarch.inspect.program_grads import group_rows, program_grads, trace
from lectarch.inspect.programs import forward
from lectarch.models.dtypes import DTYPES
from tests.helpers import config

CASES = {
    "mlp": ("mlp_digits", "model.depth=3", "model.width=8"),
    "lstm": ("adding_lstm", "data.T=6", "model.hidden=5"),
    "transformer": ("transformer_copy", "model.num_encoder_layers=1", "model.num_decoder_layers=1",
                    "model.d_model=16", "model.num_heads=2", "model.attention=xla",
                    "model.d_ff=16"),
}

# float64 rounding; the Transformer's attention logits and softmax are float32 by design
# (lectarch/ops/attention.py), so its values agree to float32 rounding of those.
RTOL = {"mlp": 1e-10, "lstm": 1e-10, "transformer": 1e-6}


def _float64():
    """float64 everywhere; standard promotion, as the int32 labels meet int64 indices under x64."""
    import contextlib

    stack = contextlib.ExitStack()
    stack.enter_context(jax.enable_x64(True))
    stack.enter_context(jax.numpy_dtype_promotion("standard"))
    return stack


def _f64(tree):
    return jax.tree.map(lambda x: x.astype(jnp.float64) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


def _setup(case):
    """The model's forward pass in float64 and a float64 readout (the objectives compute in float32)."""
    cfg = config(*CASES[case])
    cfg.model.dtype = "float64"  # lectarch.models.dtypes: a float64 model under x64 (not a config choice)
    run = build_run(cfg, num_devices=1, batch_size=3)
    s, inputs = run.state, _f64(run.first_batch()["inputs"])
    model_fn = forward(run)
    out = jax.eval_shape(model_fn, _f64(s.params), _f64(s.rest), inputs)
    w = jax.random.normal(jax.random.key(7), out.shape, jnp.float64)

    def readout(out):
        return jnp.sum(jnp.tanh(out) * w)

    def fn(params, rest, inputs):
        return readout(model_fn(params, rest, inputs))

    return run, fn, (_f64(s.params), _f64(s.rest), inputs), readout


def _bind(eqn, invals):
    out = eqn.primitive.bind(*invals, **eqn.primitive.get_bind_params(eqn.params))
    return list(out) if eqn.primitive.multiple_results else [out]


def _split_grad(closed, flat_args, i: int, k: int) -> np.ndarray:
    """dL/dv for output k of top-level equation i: evaluate up to it, then jax.grad of the rest in v."""
    jaxpr = closed.jaxpr
    env = dict(zip(jaxpr.constvars, closed.consts)) | dict(zip(jaxpr.invars, flat_args))
    read = lambda e, v: v.val if hasattr(v, "val") else e[v]  # noqa: E731
    for eqn in jaxpr.eqns[:i + 1]:
        env.update(zip(eqn.outvars, _bind(eqn, [read(env, v) for v in eqn.invars])))
    target = jaxpr.eqns[i].outvars[k]

    def rest(v):
        e = {**env, target: v}
        for eqn in jaxpr.eqns[i + 1:]:
            e.update(zip(eqn.outvars, _bind(eqn, [read(e, v) for v in eqn.invars])))
        return read(e, jaxpr.outvars[0])

    return np.asarray(jax.grad(rest)(env[target]))


@pytest.mark.parametrize("case", list(CASES))
def test_every_top_level_intermediate_gradient_equals_brute_force(case, monkeypatch):
    monkeypatch.setitem(DTYPES, "float64", jnp.float64)  # the Transformer reads model.dtype from this table
    with _float64():
        run, fn, args, _ = _setup(case)
        rows = program_grads(fn, *args)
        traced = trace(fn, *args)
        top = [r for r in rows if len(r.site.key) == 2]  # ("e<i>", "s<k>"): not inside a sub-program
        assert len(top) >= 6
        checked = 0
        for r in top[:: max(1, len(top) // 12)]:
            i, k = int(r.site.key[0][1:]), int(r.site.key[1][1:])
            brute = _split_grad(traced.closed, traced.flat_args, i, k)
            np.testing.assert_allclose(r.grad_norm, np.linalg.norm(brute), rtol=RTOL[case], atol=1e-14,
                                       err_msg=f"{r.row()}")
            checked += 1
        assert checked >= 6
        modules = {g["module"] for g in group_rows(rows)}
        assert any(m.startswith("hidden") or m.startswith("head") or m.startswith("encoder") or
                   m.startswith("decoder") for m in modules), modules


def test_lstm_cell_values_get_one_gradient_per_step_and_h_t_has_dL_dh_t():
    """Inside the scan: the equation computing h_t has, for every t, dL/dh_t of the model's own
    state-perturbation probe (itself checked against brute force in test_timeflow.py). (That probe
    adds d_t to c_t after h_t is computed, so its dL/dc_t leaves out the path c_t -> h_t, which
    the equation computing c_t includes.)"""
    with _float64():
        run, fn, args, readout = _setup("lstm")
        rows = program_grads(fn, *args)
        traced = trace(fn, *args)
        # find the scan (inside the custom-VJP BPTT) and the body equations producing the carry (c, h)
        path, jaxpr = [], traced.closed.jaxpr
        while True:
            i, eqn = next((i, e) for i, e in enumerate(jaxpr.eqns) if e.primitive.name in ("custom_vjp_call", "scan"))
            path += [f"e{i}", "sub"]
            sub = eqn.params["call_jaxpr" if eqn.primitive.name == "custom_vjp_call" else "jaxpr"].jaxpr
            if eqn.primitive.name == "scan":
                n_carry, jaxpr = eqn.params["num_carry"], sub
                break
            jaxpr = sub
        producer = {v: j for j, e in enumerate(jaxpr.eqns) for v in e.outvars}
        by_key = {r.site.key: r for r in rows}
        expected = _state_grad_norms(run, readout, args)
        c_var, h_var = jaxpr.outvars[:n_carry]  # the carry {"c", "h"}, keys sorted
        for var in (c_var, h_var):
            row = by_key[tuple(path) + (f"e{producer[var]}", "s0")]
            assert row.site.steps == (6,) and row.site.module == "stack.forward.0"
            assert row.site.line.startswith("lectarch/models/cells.py:")
        h_row = by_key[tuple(path) + (f"e{producer[h_var]}", "s0")]
        np.testing.assert_allclose(h_row.grad_norm_t, expected["0.h"], rtol=1e-10, atol=1e-14)
        inside = [r for r in rows if r.site.steps == (6,)]
        assert len(inside) >= 15 and all(np.all(r.grad_norm_t > 0) for r in inside if r.site.primitive == "tanh")


def _state_grad_norms(run, readout, args):
    """||dL/dh_t||, ||dL/dc_t|| from the model's own state perturbations (lectarch.models.scan)."""
    from flax import nnx

    params, rest, inputs = args
    zeros = nnx.merge(run.graphdef, params, rest).zero_perturbations(inputs)

    def loss(d):
        out = nnx.merge(run.graphdef, params, rest)(inputs, train=False, perturbations=d)
        return readout(out)

    return {k: timeflow.time_norms(v) for k, v in jax.grad(loss)(zeros).items()}
