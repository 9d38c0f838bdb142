"""Jaxprs of an experiment's run and what they are made of.

A jaxpr is the program JAX hands to XLA: ``jax.make_jaxpr(f)(*args)``. Its size (equations,
counted through nested jaxprs such as a ``scan`` body or a ``jit``) is what tracing and
compilation cost grows with, and its histogram of primitives shows at a glance what a step does:
one ``scan`` for a recurrent layer, ``dot_general`` for every matrix product, ``conv_general_dilated``
for every convolution.
"""

import collections
from collections.abc import Callable, Iterator

import jax
from jax.extend import core as jex_core

from lectarch.inspect.programs import function_and_args
from lectarch.train.run import Run


def make_jaxpr(fn: Callable, *args) -> jex_core.ClosedJaxpr:
    return jax.make_jaxpr(fn)(*args)


def program_jaxpr(run: Run, what: str, step_kind: str = "lean") -> jex_core.ClosedJaxpr:
    """The jaxpr of ``forward``, ``grad`` or ``train_step`` (of ``step_kind``, as the trainer runs it)."""
    fn, args = function_and_args(run, what, step_kind)
    return make_jaxpr(fn, *args)


def _sub_jaxprs(eqn) -> Iterator[jex_core.Jaxpr]:
    """The jaxprs nested in one equation's parameters (scan/while bodies, cond branches, jit, ...)."""
    for value in eqn.params.values():
        for v in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(v, jex_core.ClosedJaxpr):
                yield v.jaxpr
            elif isinstance(v, jex_core.Jaxpr):
                yield v


def equations(jaxpr) -> Iterator:
    """Every equation, depth first, including those inside nested jaxprs."""
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    for eqn in jaxpr.eqns:
        yield eqn
        for sub in _sub_jaxprs(eqn):
            yield from equations(sub)


def primitive_histogram(jaxpr) -> collections.Counter:
    """How often each primitive occurs, nested jaxprs included (a scan body is counted once)."""
    return collections.Counter(eqn.primitive.name for eqn in equations(jaxpr))


def num_equations(jaxpr) -> int:
    """The size of a program: its equations, nested ones included."""
    return sum(1 for _ in equations(jaxpr))


def format_histogram(hist: collections.Counter, top: int = 0) -> str:
    """A two-column table, most frequent first; ``top`` > 0 keeps only that many rows."""
    rows = hist.most_common(top or None)
    width = max((len(name) for name, _ in rows), default=9)
    lines = [f"{'primitive':<{width}}  count", f"{'-' * width}  -----"]
    lines += [f"{name:<{width}}  {count:5d}" for name, count in rows]
    lines.append(f"{'total':<{width}}  {sum(hist.values()):5d}")
    return "\n".join(lines)
