"""Unrolling a cell over time with ``lax.scan`` (backpropagation through time is its gradient).

    carry_t, y_t = step(carry_{t-1}, W x_t + b),   t = 1..T

``lax.scan`` traces the step once, so compile time does not grow with T; ``unroll=k`` lets XLA
fuse k steps per loop iteration (faster on GPUs, slower on CPUs: see docs/benchmarks.md).

Two layouts of the input projection ``W x_t + b`` (``projection=``):

- ``"hoisted"``: all T steps in ONE matmul (TB x D @ D x G) before the scan, so the scan body
  multiplies only by the recurrent matrices. The default on GPUs.
- ``"inside"``: ``x_t @ W`` inside the step: small matmuls that stay in cache; faster on a CPU,
  where the hoisted T x B x G array does not fit in cache (timings: docs/benchmarks.md).
- ``"auto"``: ``inside`` on CPU, ``hoisted`` elsewhere.

Backpropagation through time (``bptt=``): ``"explicit"`` (default) is ``bptt_scan``, a hand-written
backward scan in which only ``dh_{t-1} = da_t R^T`` recurs and the weight gradients are one matmul
each after the loop; ``"autodiff"`` lets ``jax.grad`` transpose the scan (it accumulates
``dR += h_{t-1}^T da_t`` inside the loop). Same gradients (tested); explicit is the faster of the two on a CPU.

Masks (``mask_TxB``, 1 = real step, 0 = padding) make padded steps no-ops: the carry passes
through unchanged and the output there is 0, so a padded batch gives each sequence exactly the
result it would have alone (for ``reverse=True`` too: the padding at the end is read first and
leaves the initial carry untouched).

Perturbations (for gradient-flow probes, lectarch.inspect): ``perturbations={"h": dh_TxBxH,
"c": dc_TxBxH}`` (any carry key) are ADDED to the carry right after step t is computed, before it
feeds step t+1 and the output ``y_t``. With zero perturbations nothing changes, and
``jax.grad(loss)(zeros)`` is ``dL/dh_t`` for every t in one backward pass.

``scan`` and ``python_unroll`` (a plain Python loop, the reference the tests compare to) are pure
functions of ``(cell, params, x_TxBxD, ...)`` and return ``(final carry, y_TxBxH)``.
"""

import jax
import jax.numpy as jnp

from lectarch.models.cells import Carry, Cell, Params

PROJECTIONS = ("auto", "hoisted", "inside")
BPTT = ("explicit", "autodiff")


def resolve_projection(projection: str) -> str:
    if projection == "auto":
        return "inside" if jax.default_backend() == "cpu" else "hoisted"
    if projection not in PROJECTIONS:
        raise ValueError(f"projection must be one of {PROJECTIONS}, got {projection!r}")
    return projection


def _masked_perturbed(new: Carry, old: Carry, m_B: jax.Array | None, p_t: dict | None) -> tuple[Carry, jax.Array]:
    """Padded steps keep the old carry; perturbations are added; the output is the new ``h``."""
    if m_B is not None:
        keep = m_B[:, None] > 0
        new = {k: jnp.where(keep, v, old[k]) for k, v in new.items()}
    if p_t:
        new = {k: v + p_t[k] if k in p_t else v for k, v in new.items()}
    y = new["h"]
    if m_B is not None:
        y = jnp.where(m_B[:, None] > 0, y, jnp.zeros_like(y))
    return new, y


def _inputs(cell: Cell, params: Params, x_TxBxD: jax.Array, projection: str):
    """What the scan iterates over, and the step that turns one slice into ``W x_t + b``."""
    if resolve_projection(projection) == "hoisted":
        return cell.project(params, x_TxBxD), (lambda xw_t: xw_t)
    return x_TxBxD, (lambda x_t: cell.project(params, x_t))


def _per_step(xs, mask_TxB, perturbations) -> dict:
    """What each step reads: ``xs`` (time-major: ``x_TxBxD``, or ``W x + b`` as T x B x G when hoisted)."""
    per_step = {"x": xs}
    if mask_TxB is not None:
        per_step["m"] = mask_TxB
    if perturbations:
        per_step["p"] = dict(perturbations)
    return per_step


def scan(cell: Cell, params: Params, x_TxBxD: jax.Array, *, carry0: Carry | None = None,
         mask_TxB: jax.Array | None = None, perturbations: dict[str, jax.Array] | None = None,
         reverse: bool = False, unroll: int = 1, projection: str = "auto",
         bptt: str = "explicit") -> tuple[Carry, jax.Array]:
    """Run ``cell`` over ``x_TxBxD`` with ``lax.scan``; returns ``(carry_T, y_TxBxH)``.

    ``bptt="autodiff"``: JAX differentiates the scan; ``"explicit"``: ``bptt_scan``'s hand-written
    backward pass (same gradients, tested), whose weight gradients are single matmuls.
    """
    if bptt == "explicit":
        return bptt_scan(cell, params, x_TxBxD, carry0=carry0, mask_TxB=mask_TxB, perturbations=perturbations,
                         reverse=reverse, unroll=unroll, projection=projection)
    T, B = x_TxBxD.shape[:2]
    carry0 = cell.init_carry(B) if carry0 is None else carry0
    xs, to_xw = _inputs(cell, params, x_TxBxD, projection)

    def body(carry: Carry, s: dict) -> tuple[Carry, jax.Array]:
        new, _ = cell.step(params, carry, to_xw(s["x"]))
        return _masked_perturbed(new, carry, s.get("m"), s.get("p"))

    return jax.lax.scan(body, carry0, _per_step(xs, mask_TxB, perturbations), reverse=reverse, unroll=unroll)


MATMUL_PARAMS = ("W", "b", "R")  # their gradients are computed once, after the backward scan


def bptt_scan(cell: Cell, params: Params, x_TxBxD: jax.Array, *, carry0: Carry | None = None,
              mask_TxB: jax.Array | None = None, perturbations: dict[str, jax.Array] | None = None,
              reverse: bool = False, unroll: int = 1, projection: str = "auto") -> tuple[Carry, jax.Array]:
    """``scan`` with backpropagation through time written out (the lecture's BPTT).

    Forward: the scan keeps, per step, the previous carry and the pre-activation
    ``a_t = W x_t + R h_{t-1} + b``. Backward, from t = T down to 1, only
    ``da_t = (dL/d carry_t, dL/dy_t) -> through the gates`` and ``dh_{t-1} += da_t R^T`` recur. The
    weight gradients are sums over time, so each is ONE matmul after the loop:
    ``dR = sum_t h_{t-1}^T da_t = H_prev^T dA``, ``dW = X^T dA``, ``db = sum dA``
    (autodiff of the scan instead accumulates T rank-B updates inside the loop).
    """
    T, B = x_TxBxD.shape[:2]
    carry0 = cell.init_carry(B) if carry0 is None else carry0
    mask_TxB = None if mask_TxB is None else mask_TxB.astype(jnp.float32)
    hoisted = resolve_projection(projection) == "hoisted"
    mats = {k: params[k] for k in MATMUL_PARAMS}
    rest = {k: v for k, v in params.items() if k not in MATMUL_PARAMS}

    def gates(rest, carry_prev, a_t, m, p):  # everything in a step except the matmuls
        new, _ = cell.update({**mats, **rest}, carry_prev, a_t)
        return _masked_perturbed(new, carry_prev, m, p)

    def forward(mats, rest, carry0, x_TxBxD, mask_TxB, perturbations):
        P = {**mats, **rest}
        xs = cell.project(P, x_TxBxD) if hoisted else x_TxBxD

        def body(carry, s):
            xw_t = s["x"] if hoisted else cell.project(P, s["x"])
            a_t = xw_t + cell.recurrent(P, carry)
            new, y = gates(rest, carry, a_t, s.get("m"), s.get("p"))
            return new, (y, carry, a_t)

        carry_T, (y_TxBxH, carries_prev, a_TxBxG) = jax.lax.scan(
            body, carry0, _per_step(xs, mask_TxB, perturbations), reverse=reverse, unroll=unroll)
        return (carry_T, y_TxBxH), (carries_prev, a_TxBxG)

    @jax.custom_vjp
    def run(mats, rest, carry0, x_TxBxD, mask_TxB, perturbations):
        return forward(mats, rest, carry0, x_TxBxD, mask_TxB, perturbations)[0]

    def run_fwd(mats, rest, carry0, x_TxBxD, mask_TxB, perturbations):
        out, (carries_prev, a_TxBxG) = forward(mats, rest, carry0, x_TxBxD, mask_TxB, perturbations)
        return out, (mats, rest, x_TxBxD, mask_TxB, perturbations, carries_prev, a_TxBxG)

    def run_bwd(res, cotangents):
        mats, rest, x_TxBxD, mask_TxB, perturbations, carries_prev, a_TxBxG = res
        d_carry_T, d_y_TxBxH = cotangents
        P = {**mats, **rest}

        def body(carry, s):
            d_new, d_rest = carry
            _, vjp = jax.vjp(gates, rest, s["carry"], s["a"], s.get("m"), s.get("p"))
            dr, d_prev, da_t, _, dp = vjp((d_new, s["dy"]))
            _, vjp_rec = jax.vjp(lambda c: cell.recurrent(P, c), s["carry"])
            d_prev = jax.tree.map(jnp.add, d_prev, vjp_rec(da_t)[0])  # dh_{t-1} += da_t R^T
            return (d_prev, jax.tree.map(jnp.add, d_rest, dr)), (da_t, dp)

        per_step = {"carry": carries_prev, "a": a_TxBxG, "dy": d_y_TxBxH}
        per_step.update({k: v for k, v in _per_step(None, mask_TxB, perturbations).items() if k != "x"})
        (d_carry0, d_rest), (da_TxBxG, d_perturbations) = jax.lax.scan(
            body, (d_carry_T, jax.tree.map(jnp.zeros_like, rest)), per_step, reverse=not reverse, unroll=unroll)
        # the weight gradients: one matmul each over all T*B rows
        flat = lambda a: a.reshape((-1,) + a.shape[2:])  # noqa: E731
        _, vjp_R = jax.vjp(lambda R: cell.recurrent({**P, "R": R}, jax.tree.map(flat, carries_prev)), mats["R"])
        _, vjp_Wb = jax.vjp(lambda W, b, x: cell.project({**P, "W": W, "b": b}, x), mats["W"], mats["b"], x_TxBxD)
        dW, db, dx = vjp_Wb(da_TxBxG)
        d_mats = {"W": dW, "b": db, "R": vjp_R(flat(da_TxBxG))[0]}
        d_mask = None if mask_TxB is None else jnp.zeros_like(mask_TxB)
        return d_mats, d_rest, d_carry0, dx, d_mask, (d_perturbations if perturbations else perturbations)

    run.defvjp(run_fwd, run_bwd)
    return run(mats, rest, carry0, x_TxBxD, mask_TxB, dict(perturbations) if perturbations else None)


def python_unroll(cell: Cell, params: Params, x_TxBxD: jax.Array, *, carry0: Carry | None = None,
                  mask_TxB: jax.Array | None = None, perturbations: dict[str, jax.Array] | None = None,
                  reverse: bool = False) -> tuple[Carry, jax.Array]:
    """The same recurrence as ``scan`` with a Python loop, x_t @ W inside each step (the reference)."""
    T, B = x_TxBxD.shape[:2]
    carry = cell.init_carry(B) if carry0 is None else carry0
    ys: list[jax.Array] = [None] * T  # type: ignore[list-item]
    for t in (reversed(range(T)) if reverse else range(T)):
        new, _ = cell.step(params, carry, cell.project(params, x_TxBxD[t]))
        p_t = {k: v[t] for k, v in perturbations.items()} if perturbations else None
        carry, ys[t] = _masked_perturbed(new, carry, None if mask_TxB is None else mask_TxB[t], p_t)
    return carry, jnp.stack(ys)
