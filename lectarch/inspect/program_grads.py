"""The gradient of the loss at every intermediate value of the program, in one backward pass.

The trick that gives dL/dh_t in a recurrent network (add a zero to the state, differentiate with
respect to the zero) works for every value of any program: trace ``loss(*args)`` to a jaxpr, add a
zero at each equation's output (inside a ``scan``, one zero per step) and differentiate with
respect to all the zeros at once (``lectarch.inspect.jaxpr_sites``):

    dL/dd_v |_{d=0} = dL/dv     for every intermediate v.

Each row gives ||dL/dv|| (over all its elements and steps; per step too, for values inside a scan)
beside ||v||, the primitive that computed v, the module it was computed in (its path in the model,
``lectarch.inspect.module_scopes``) and the source line. ``group_rows`` sums them by module or by
primitive (root-sum-square of the norms).
"""

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from lectarch.inspect.jaxpr_sites import Site, evaluate, pick, sites, zeros
from lectarch.inspect.module_scopes import module_scopes


@dataclasses.dataclass
class Traced:
    """A scalar function's jaxpr (traced with module scopes) and its flat arguments."""

    closed: object  # jax.extend.core.ClosedJaxpr
    flat_args: list


def trace(fn: Callable, *args) -> Traced:
    """``fn(*args)`` must return a scalar (the loss)."""
    flat, tree = jax.tree.flatten(args)
    with module_scopes():
        closed = jax.make_jaxpr(lambda *xs: fn(*jax.tree.unflatten(tree, xs)))(*flat)
    if len(closed.jaxpr.outvars) != 1 or closed.out_avals[0].shape != ():
        raise ValueError(f"the function must return one scalar, got {closed.out_avals}")
    return Traced(closed, flat)


def _per_step(x: jax.Array, n_steps: int, reduce) -> jax.Array:
    return reduce(x.reshape(x.shape[:n_steps] + (-1,)), axis=-1)


def site_cotangents(traced: Traced, at: str = "outputs") -> tuple[list[Site], dict]:
    """The sites and, compiled as one program: the loss, per-step ||cotangent|| and finiteness of every
    site, the forward facts (norm, finite) of every equation output, and whether the gradient with
    respect to the function's float arguments (the parameters) is finite; one backward pass."""
    jaxpr, consts = traced.closed.jaxpr, traced.closed.consts
    site_list = sites(jaxpr, at)
    floats = [i for i, x in enumerate(traced.flat_args) if jnp.issubdtype(jnp.result_type(x), jnp.inexact)]

    def summary(flat):
        def loss(p, float_args):
            args = list(flat)
            for i, x in zip(floats, float_args):
                args[i] = x
            outs, facts = evaluate(jaxpr, consts, args, p, at)
            return outs[0], (outs[0], facts)

        (g, g_args), (value, facts) = jax.grad(loss, argnums=(0, 1), has_aux=True)(
            zeros(site_list), [flat[i] for i in floats])
        grads = [pick(g, s).astype(jnp.promote_types(pick(g, s).dtype, jnp.float32)) for s in site_list]
        norms = [jnp.sqrt(_per_step(x * x, len(s.steps), jnp.sum)) for x, s in zip(grads, site_list)]
        finite = [_per_step(jnp.isfinite(x), len(s.steps), jnp.all) for x, s in zip(grads, site_list)]
        args_finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in g_args])) if g_args else jnp.array(True)
        return {"loss": value, "grad_norm": norms, "grad_finite": finite, "facts": facts, "args_finite": args_finite}

    return site_list, jax.device_get(jax.jit(summary)(traced.flat_args))


@dataclasses.dataclass
class ProgramGrad:
    """One intermediate v: ||dL/dv|| and ||v||, per step inside scans (arrays of shape ``site.steps``)."""

    index: int  # position in the forward program (depth order)
    site: Site
    grad_norm_t: np.ndarray
    value_norm_t: np.ndarray

    @property
    def grad_norm(self) -> float:
        return float(np.sqrt(np.sum(np.asarray(self.grad_norm_t, np.float64) ** 2)))

    @property
    def value_norm(self) -> float:
        return float(np.sqrt(np.sum(np.asarray(self.value_norm_t, np.float64) ** 2)))

    def row(self) -> dict:
        s, g = self.site, np.asarray(self.grad_norm_t, np.float64).reshape(-1)
        return dict(index=self.index, module=s.module or "(root)", primitive=s.primitive,
                    shape="x".join(map(str, s.shape)) or "scalar", steps="x".join(map(str, s.steps)),
                    grad_norm=self.grad_norm, value_norm=self.value_norm,
                    grad_norm_first_step=float(g[0]) if s.steps else None,
                    grad_norm_last_step=float(g[-1]) if s.steps else None, line=s.line)


def program_grads(fn: Callable, *args) -> list[ProgramGrad]:
    """||dL/dv|| for every float intermediate v of ``fn(*args)`` (a scalar), in forward order."""
    site_list, out = site_cotangents(trace(fn, *args), "outputs")
    return [ProgramGrad(i, s, np.asarray(g), np.asarray(pick(out["facts"], s)["norm"]))
            for i, (s, g) in enumerate(zip(site_list, out["grad_norm"]))]


def loss_of(loss_fn: Callable, train: bool = True) -> Callable:
    """``(params, rest, batch, key) -> loss`` from the trainer's ``loss_fn`` (``make_loss_fn``)."""
    return lambda params, rest, batch, key: loss_fn(params, rest, batch, key, train)[0]


def group_rows(rows: list[ProgramGrad], by: str = "module") -> list[dict]:
    """One row per module (or primitive), in order of first appearance: how many values, the
    root-sum-square and the largest and smallest of their ||dL/dv||."""
    groups: dict[str, list[ProgramGrad]] = {}
    for r in rows:
        name = (r.site.module or "(root)") if by == "module" else r.site.primitive
        groups.setdefault(name, []).append(r)
    out = []
    for name, members in groups.items():
        g = np.array([m.grad_norm for m in members])
        out.append({by: name, "values": len(members), "first_index": members[0].index,
                    "grad_norm_rss": float(np.sqrt(np.sum(g ** 2))), "grad_norm_max": float(g.max()),
                    "grad_norm_min": float(g.min())})
    return out
