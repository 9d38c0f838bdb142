"""Why the codebase scans: ``lax.scan`` against a Python-loop unroll of the same cell.

A Python loop over t traces the step T times: the jaxpr (and the HLO XLA must optimise) grows
linearly with T, and so does compile time. ``lax.scan`` traces the step once: the program's size
and its compile time do not depend on T; only the run time does. Both compute the same numbers
(``lectarch.models.scan`` tests that). ``measure`` times one SGD training step of a recurrent layer
with a linear readout of every output, for one implementation and one T.
"""

import statistics
import time

import jax
import jax.numpy as jnp

from lectarch.inspect.jaxpr import num_equations
from lectarch.models.cells import Cell
from lectarch.models.scan import python_unroll, scan

IMPLS = ("scan", "unroll")


def sgd_bptt_step(cell: Cell, impl: str, learning_rate: float = 0.1):
    """``step(params, x_TxBxD, target_TxBxH) -> (params, loss)``: backpropagation through time + SGD."""
    def loss_fn(params, x_TxBxD, target_TxBxH):
        if impl == "scan":
            _, y = scan(cell, params, x_TxBxD, projection="inside")
        elif impl == "unroll":
            _, y = python_unroll(cell, params, x_TxBxD)
        else:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        return jnp.mean((y - target_TxBxH) ** 2)

    def step(params, x_TxBxD, target_TxBxH):
        loss, grads = jax.value_and_grad(loss_fn)(params, x_TxBxD, target_TxBxH)
        return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads), loss

    return step


def measure(cell: Cell, impl: str, T: int, *, batch: int = 16, features: int = 8, repeats: int = 5,
            time_steps: bool = True) -> dict:
    """Jaxpr equations, trace+lower time, compile time and median step time of one training step."""
    params = cell.init_params(jax.random.key(0), features)
    x = jax.random.normal(jax.random.key(1), (T, batch, features))
    target = jax.random.normal(jax.random.key(2), (T, batch, cell.hidden))
    step = sgd_bptt_step(cell, impl)
    t0 = time.perf_counter()
    jaxpr = jax.make_jaxpr(step)(params, x, target)
    lowered = jax.jit(step).lower(params, x, target)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    row = {"impl": impl, "T": T, "jaxpr_equations": num_equations(jaxpr), "trace_lower_s": t1 - t0,
           "compile_s": t2 - t1, "step_ms": None}
    if time_steps:
        jax.block_until_ready(compiled(params, x, target))
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            jax.block_until_ready(compiled(params, x, target))
            times.append(time.perf_counter() - t)
        row["step_ms"] = 1e3 * statistics.median(times)
    return row


def format_table(rows: list[dict]) -> str:
    lines = [f"{'impl':<7} {'T':>5} {'jaxpr eqns':>11} {'trace+lower s':>14} {'compile s':>10} {'step ms':>9}"]
    for r in sorted(rows, key=lambda r: (r["impl"], r["T"])):
        step = f"{r['step_ms']:9.2f}" if r.get("step_ms") is not None else f"{'-':>9}"
        lines.append(f"{r['impl']:<7} {r['T']:5d} {r['jaxpr_equations']:11d} {r['trace_lower_s']:14.3f} "
                     f"{r['compile_s']:10.3f} {step}")
    return "\n".join(lines)
