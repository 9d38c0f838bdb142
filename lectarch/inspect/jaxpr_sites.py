"""Every value of a jaxpr as a place to add a zero: the sites, and an interpreter that adds them.

A *site* is one float value of a jaxpr equation: an output (``at="outputs"``: the intermediate
itself) or one input operand (``at="inputs"``: that equation's own use of a value). ``evaluate``
runs the jaxpr equation by equation and adds ``perturbations[site]`` there. At zero perturbations
nothing changes, and

    dL/d(perturbation at site) |_{0} = dL/dv                (outputs: the cotangent of v),
                                     = v's cotangent from that one equation  (inputs),

for every site at once, in one ``jax.grad``. Sub-programs are interpreted in place, so their
values are sites too:

- ``scan``: the body's sites get one zero per step (an extra ``xs`` of shape T x ...), so a value
  inside an LSTM cell has a cotangent for every t;
- ``pjit``/``jit``, ``closed_call``, ``remat``/``checkpoint``: their jaxpr, inline;
- ``custom_vjp_call``: its forward jaxpr, differentiated by JAX (the custom backward pass is
  mathematically the same derivative: lectarch's hand-written BPTT is one);
- every other primitive (``custom_jvp_call``, ``cond``, ``while`` ...) is one equation: its own
  derivative rule, its outputs (or inputs) are sites.

Perturbations, gradients and recorded forward facts are nested dicts keyed ``"e<i>"`` (equation i
of a jaxpr), then ``"s<k>"`` (slot k) or ``"sub"`` (the sub-jaxpr's own dict).
"""

import dataclasses
import os

import jax
import jax.numpy as jnp
from jax.extend import core as jex_core

CALLS = {"pjit": "jaxpr", "jit": "jaxpr", "closed_call": "call_jaxpr", "core_call": "call_jaxpr",
         "remat": "jaxpr", "checkpoint": "jaxpr", "custom_vjp_call": "call_jaxpr",
         "custom_vjp_call_jaxpr": "fun_jaxpr"}
AT = ("outputs", "inputs")


@dataclasses.dataclass(frozen=True)
class Site:
    """One perturbed value: where it is (``key``), its steps (one per enclosing scan) and its origin."""

    key: tuple[str, ...]  # into the nested perturbation dict, e.g. ("e7", "sub", "e3", "s0")
    order: tuple  # ((equation index, scan level or None), ...) from the outermost jaxpr in
    steps: tuple[int, ...]  # lengths of the enclosing scans (leading axes of the perturbation)
    reverse: tuple[bool, ...]  # whether each enclosing scan runs backwards in time
    primitive: str
    shape: tuple[int, ...]  # of one value (one step)
    dtype: str
    name_stack: str  # "a/b/c": the named scopes it was traced in (module paths, lectarch.inspect.module_scopes)
    line: str  # "file.py:123 (function)": the user code that computed it
    producer: tuple[str, ...] | None = None  # inputs: the key of the equation (same jaxpr) that computed this input

    @property
    def module(self) -> str:
        return self.name_stack.rsplit("/", 1)[-1] if self.name_stack else ""

    def forward_position(self, t: tuple[int, ...] = ()) -> tuple[int, ...]:
        """A sort key: the order in which the forward pass computes this site at steps ``t``."""
        key, level = [], 0
        for index, in_scan in self.order:
            key.append(index)
            if in_scan is not None:
                T, step = self.steps[level], (t[level] if level < len(t) else 0)
                key.append(T - 1 - step if self.reverse[level] else step)
                level += 1
        return tuple(key)


def _closed(j) -> tuple[jex_core.Jaxpr, list]:
    return (j.jaxpr, list(j.consts)) if isinstance(j, jex_core.ClosedJaxpr) else (j, [])


def _is_float(v) -> bool:
    if isinstance(v, jex_core.Literal) or type(v).__name__ == "DropVar":
        return False
    dtype = getattr(v.aval, "dtype", None)
    return dtype is not None and jnp.issubdtype(dtype, jnp.inexact)


def _name_stack(outer: str, eqn) -> str:
    inner = str(eqn.source_info.name_stack)
    return "/".join(p for p in (outer, inner) if p)


def user_line(eqn) -> str:
    """The innermost frame outside the installed libraries and this package's inspection code."""
    frames = list(getattr(eqn.source_info.traceback, "frames", None) or [])
    for f in frames:
        name = f.file_name
        if "site-packages" in name or "/lectarch/inspect/" in name or name.startswith("<"):
            continue
        if name.startswith(os.getcwd() + os.sep):
            name = os.path.relpath(name)
        return f"{name}:{f.line_num} ({f.function_name})"
    return f"{frames[0].file_name}:{frames[0].line_num}" if frames else "?"


def sites(jaxpr: jex_core.Jaxpr, at: str = "outputs", *, _key=(), _order=(), _steps=(), _rev=(), _stack="") -> list[Site]:
    """The sites of ``jaxpr`` (and of its sub-jaxprs) in forward order."""
    if at not in AT:
        raise ValueError(f"at must be one of {AT}, got {at!r}")
    out: list[Site] = []
    leaf_producer = {v: i for i, e in enumerate(jaxpr.eqns) if e.primitive.name != "scan" and e.primitive.name not in CALLS
                     for v in e.outvars}
    for i, eqn in enumerate(jaxpr.eqns):
        name, stack = eqn.primitive.name, _name_stack(_stack, eqn)
        if name == "scan":
            body, _ = _closed(eqn.params["jaxpr"])
            out += sites(body, at, _key=_key + (f"e{i}", "sub"), _order=_order + ((i, len(_steps)),),
                         _steps=_steps + (int(eqn.params["length"]),), _rev=_rev + (bool(eqn.params["reverse"]),),
                         _stack=stack)
        elif name in CALLS:
            sub, _ = _closed(eqn.params[CALLS[name]])
            out += sites(sub, at, _key=_key + (f"e{i}", "sub"), _order=_order + ((i, None),), _steps=_steps,
                         _rev=_rev, _stack=stack)
        else:
            line = user_line(eqn)
            for k, v in enumerate(eqn.outvars if at == "outputs" else eqn.invars):
                if _is_float(v):
                    producer = _key + (f"e{leaf_producer[v]}",) if at == "inputs" and v in leaf_producer else None
                    out.append(Site(_key + (f"e{i}", f"s{k}"), _order + ((i, None),), _steps, _rev, name,
                                    tuple(v.aval.shape), str(v.aval.dtype), stack, line, producer))
    return out


def zeros(site_list: list[Site]) -> dict:
    """The all-zero perturbations of ``site_list`` (shape: steps + value shape)."""
    tree: dict = {}
    for s in site_list:
        node = tree
        for k in s.key[:-1]:
            node = node.setdefault(k, {})
        node[s.key[-1]] = jnp.zeros(s.steps + s.shape, s.dtype)
    return tree


def pick(tree: dict, site: Site):
    for k in site.key:
        tree = tree[k]
    return tree


def _facts(x) -> dict:
    """What the forward pass records about a value: its norm and whether it is all finite."""
    x32 = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    return {"norm": jnp.sqrt(jnp.sum(x32 * x32)), "finite": jnp.all(jnp.isfinite(x))}


def evaluate(jaxpr: jex_core.Jaxpr, consts, args, perturbations: dict, at: str = "outputs") -> tuple[list, dict]:
    """Run ``jaxpr`` on ``args`` adding ``perturbations`` at its sites; returns (outputs, facts): the
    facts (norm, finite) of every float output of every equation, nested as the perturbations."""
    env: dict = {}

    def read(v):
        return v.val if isinstance(v, jex_core.Literal) else env[v]

    for v, x in zip(jaxpr.constvars, consts):
        env[v] = x
    for v, x in zip(jaxpr.invars, args):
        env[v] = x
    facts: dict = {}
    for i, eqn in enumerate(jaxpr.eqns):
        p = perturbations.get(f"e{i}", {})
        invals = [read(v) for v in eqn.invars]
        name = eqn.primitive.name
        if name == "scan":
            outvals, sub = _scan(eqn, invals, p.get("sub", {}), at)
            facts[f"e{i}"] = {"sub": sub}
        elif name in CALLS:
            body, body_consts = _closed(eqn.params[CALLS[name]])
            outvals, sub = evaluate(body, body_consts, invals, p.get("sub", {}), at)
            facts[f"e{i}"] = {"sub": sub}
        else:
            if at == "inputs":
                invals = [x + p[f"s{k}"] if f"s{k}" in p else x for k, x in enumerate(invals)]
            with eqn.ctx.manager:
                outvals = eqn.primitive.bind(*invals, **eqn.primitive.get_bind_params(eqn.params))
            outvals = list(outvals) if eqn.primitive.multiple_results else [outvals]
            if at == "outputs":
                outvals = [x + p[f"s{k}"] if f"s{k}" in p else x for k, x in enumerate(outvals)]
            facts[f"e{i}"] = {f"s{k}": _facts(x) for k, (v, x) in enumerate(zip(eqn.outvars, outvals)) if _is_float(v)}
        for v, x in zip(eqn.outvars, outvals):
            if type(v).__name__ != "DropVar":
                env[v] = x
    return [read(v) for v in jaxpr.outvars], facts


def _scan(eqn, invals, perturbations_T: dict, at: str) -> tuple[list, dict]:
    """A ``scan`` whose body is interpreted with the body's perturbations fed as extra ``xs``."""
    prm = eqn.params
    body, body_consts = _closed(prm["jaxpr"])
    n_consts, n_carry = prm["num_consts"], prm["num_carry"]
    consts, init, xs = invals[:n_consts], invals[n_consts:n_consts + n_carry], invals[n_consts + n_carry:]

    def step(carry, x):
        xs_t, p_t = x
        outs, facts_t = evaluate(body, body_consts, [*consts, *carry, *xs_t], p_t, at)
        return outs[:n_carry], (outs[n_carry:], facts_t)

    carry, (ys, facts_T) = jax.lax.scan(step, list(init), (list(xs), perturbations_T), length=prm["length"],
                                        reverse=prm["reverse"], unroll=prm.get("unroll", 1))
    return [*carry, *ys], facts_T
