"""Receptive fields of a stack of convolutions and poolings, computed two ways.

**Analytic** (Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural
Networks", Distill 2019). Per axis, layer ``l`` with kernel ``k_l``, stride ``s_l``, padding
``p_l`` (before the input) and dilation ``d_l`` (effective kernel ``k'_l = d_l (k_l - 1) + 1``):

    r_l = r_{l-1} + (k'_l - 1) * S_{l-1}      receptive-field size        (r_0 = 1)
    S_l = S_{l-1} * s_l                        effective stride            (S_0 = 1)
    P_l = P_{l-1} + p_l * S_{l-1}              effective padding           (P_0 = 0)

and unit ``i`` of layer ``l`` sees the inputs ``[i S_l - P_l, i S_l - P_l + r_l - 1]`` (clipped to
the image: the rest is padding).

**Empirical.** The receptive field of a unit is the set of inputs it depends on: the support of
the gradient of that unit with respect to the input. Two things hide dependencies from a plain
gradient: max pooling sends its gradient to one element of each window (the argmax), and a ReLU
that is off sends none. ``dependency_probe`` therefore evaluates the network's own program (its
jaxpr, with the real convolution and pooling geometry) with every max replaced by a sum of the
same operands (``max(a, b)`` depends on ``a`` and ``b``, and so does ``a + b``; a max-pooling
window becomes a sum over the window; a ReLU ``max(x, 0)`` becomes the identity), and the caller
makes every weight positive (``positive_copy``), so no contributions cancel. The support of that
gradient is the receptive field, measured.
"""

import dataclasses
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax import lax
from jax.extend.core import Literal

from lectarch.ops.conv import Padding, output_size, pad_pair, padding_amounts  # noqa: F401 (pad_pair: rf.pad_pair)


@dataclasses.dataclass(frozen=True)
class Layer:
    """One convolution or pooling layer, along one spatial axis (square layers: both axes).

    ``padding``: ``p``, ``(before, after)`` or a mode, ``"SAME"`` / ``"VALID"`` / ``"CAUSAL"`` (any case;
    ``lectarch.ops.conv.padding_amounts``), resolved for the size the layer's input has."""

    name: str
    kernel: int
    stride: int = 1
    padding: Padding = 0
    dilation: int = 1


@dataclasses.dataclass(frozen=True)
class Row:
    """The receptive field after ``layer`` (the input itself for ``layer=None``)."""

    layer: Layer | None
    output_size: int
    size: int  # r_l
    stride: int  # S_l
    padding: int  # P_l

    def span(self, i: int) -> tuple[int, int]:
        """Input coordinates ``[first, last]`` unit ``i`` sees (may extend into the padding)."""
        first = i * self.stride - self.padding
        return first, first + self.size - 1


def receptive_fields(layers: Sequence[Layer], input_size: int) -> list[Row]:
    """The table of Araujo et al.: one row for the input, then one per layer."""
    rows = [Row(None, input_size, 1, 1, 0)]
    for layer in layers:
        prev = rows[-1]
        k_eff = layer.dilation * (layer.kernel - 1) + 1
        n = output_size(prev.output_size, layer.kernel, layer.stride, layer.padding, layer.dilation)
        if n < 1:
            raise ValueError(f"layer {layer.name} (kernel {layer.kernel}) leaves no output for an input of "
                             f"{input_size}: the input is too small for this network")
        rows.append(Row(layer, n, prev.size + (k_eff - 1) * prev.stride, prev.stride * layer.stride,
                        prev.padding + padding_amounts(layer.padding, prev.output_size, layer.kernel, layer.stride,
                                                       layer.dilation)[0] * prev.stride))
    return rows


def format_table(rows: Sequence[Row], title: str = "") -> str:
    head = (f"{'layer':<10} {'kernel':>6} {'stride':>6} {'padding':>7} {'dilation':>8} | "
            f"{'output':>6} {'RF size':>7} {'eff. stride':>11} {'eff. padding':>12}")
    lines = ([title] if title else []) + [head, "-" * len(head)]
    for row in rows:
        L = row.layer
        left = (f"{'input':<10} {'':>6} {'':>6} {'':>7} {'':>8}" if L is None else
                f"{L.name:<10} {L.kernel:>6} {L.stride:>6} {str(L.padding):>7} {L.dilation:>8}")
        lines.append(f"{left} | {row.output_size:>6} {row.size:>7} {row.stride:>11} {row.padding:>12}")
    return "\n".join(lines)


def clipped_span(row: Row, i: int, input_size: int) -> tuple[int, int]:
    first, last = row.span(i)
    return max(first, 0), min(last, input_size - 1)


# ---------------------------------------------------------------------------------------------
# Empirical: the support of the input gradient of one unit, through the network's own program.


# max(a, b) -> a + b (ReLU becomes the identity); max over axes or windows -> sum over the same ones.
_SUM_FOR_MAX = {lax.max_p: lax.add_p, lax.reduce_window_max_p: lax.reduce_window_sum_p}


def _inline(eqn) -> jax.extend.core.ClosedJaxpr | None:
    """Sub-programs that are plain calls (jit, custom derivative rules): evaluated in line."""
    if eqn.primitive.name in ("jit", "pjit", "closed_call", "core_call", "custom_jvp_call", "custom_vjp_call"):
        for key in ("jaxpr", "call_jaxpr", "fun_jaxpr"):
            if key in eqn.params:
                return eqn.params[key]
    return None


def _eval_with_sums(jaxpr, consts, *args):
    env = {}
    read = lambda v: v.val if isinstance(v, Literal) else env[v]  # noqa: E731
    env.update(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        ins = [read(v) for v in eqn.invars]
        if eqn.primitive in _SUM_FOR_MAX:  # a max depends on all its operands: so does their sum
            outs = [_SUM_FOR_MAX[eqn.primitive].bind(*ins, **eqn.params)]
        elif (inner := _inline(eqn)) is not None:
            outs = _eval_with_sums(inner.jaxpr, inner.consts, *ins)
        else:
            outs = eqn.primitive.bind(*ins, **eqn.params)
            outs = outs if eqn.primitive.multiple_results else [outs]
        env.update(zip(eqn.outvars, outs))
    return [read(v) for v in jaxpr.outvars]


def dependency_probe(fn: Callable[[jax.Array], object]) -> Callable[[jax.Array], object]:
    """``fn`` with each max-pooling window summed instead, so its gradient reaches every input it reads."""

    def probe(x):
        closed, out_shape = jax.make_jaxpr(fn, return_shape=True)(x)
        outs = _eval_with_sums(closed.jaxpr, closed.consts, x)
        return jax.tree.unflatten(jax.tree.structure(out_shape), outs)

    return probe


def positive_copy(model: nnx.Module) -> nnx.Module:
    """The same network with positive parameters, so no ReLU is off: each weight ``1 / fan-in``, each bias 0.01.

    Only the structure matters for what a unit depends on, so ``model`` may also be abstract
    (``nnx.eval_shape``): nothing is drawn at random, which keeps the measurement cheap for AlexNet.
    """
    graphdef, state = nnx.split(model)

    def positive(a):
        if not jnp.issubdtype(a.dtype, jnp.floating):
            return a
        fan_in = int(np.prod(a.shape[:-1])) if len(a.shape) > 1 else 0
        return jnp.full(a.shape, 1.0 / fan_in if fan_in else 0.01, a.dtype)

    return nnx.merge(graphdef, jax.tree.map(positive, state))


def gradient_supports(fn: Callable[[jax.Array], Sequence[jax.Array]], input_shape: Sequence[int],
                      units: Sequence[Sequence[tuple[int, int]]]) -> list[np.ndarray]:
    """Which input pixels each unit depends on: for output ``l`` of ``fn``, a ``U_l x H x W`` boolean array.

    ``fn`` maps a ``1 x H x W x C`` input to a list of ``1 x H_l x W_l x C_l`` maps (one per layer)
    and should be a positive network (``positive_copy``); ``units[l]`` lists the ``(i, j)`` of layer
    ``l`` to measure. The input is all ones; one backward pass per unit, all in one compiled program.
    """
    x = jnp.ones((1, *input_shape), jnp.float32)
    ys = jax.eval_shape(fn, x)
    total = sum(len(u) for u in units)
    cotangents = [np.zeros((total, *y.shape), y.dtype) for y in ys]  # arguments, not constants: no folding
    k = 0
    for layer, layer_units in enumerate(units):
        for i, j in layer_units:
            cotangents[layer][k, 0, i, j, :] = 1
            k += 1

    @jax.jit
    def support(x, cotangents):
        _, vjp = jax.vjp(dependency_probe(fn), x)
        (g_UxHxWxC,) = jax.vmap(vjp)(cotangents)
        return jnp.any(g_UxHxWxC[:, 0] != 0, axis=-1)

    s = np.asarray(support(x, cotangents))
    bounds = np.cumsum([0] + [len(u) for u in units])
    return [s[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def support_box(support_HxW: np.ndarray) -> tuple[tuple[int, int], tuple[int, int], bool]:
    """Row span, column span of a support, and whether it fills that rectangle exactly."""
    rows, cols = np.nonzero(support_HxW)
    if rows.size == 0:
        return (0, -1), (0, -1), False
    r, c = (rows.min(), rows.max()), (cols.min(), cols.max())
    filled = bool(support_HxW[r[0]:r[1] + 1, c[0]:c[1] + 1].all())
    return (int(r[0]), int(r[1])), (int(c[0]), int(c[1])), filled


def compare(fn: Callable[[jax.Array], Sequence[jax.Array]], input_shape: Sequence[int],
            rows: Sequence[Row]) -> list[str]:
    """Measure the first, middle and last unit of every layer and compare with the analytic ``rows``.

    ``fn`` maps a ``1 x H x W x C`` input to every layer's maps, on a positive network
    (``positive_copy``); ``rows`` is ``receptive_fields(...)`` (input row first). Returns one line per
    layer: ``"ok ..."`` or ``"MISMATCH ..."``.
    """
    H, W = input_shape[0], input_shape[1]
    units = [sorted({(0, 0), (r.output_size // 2, r.output_size // 2), (r.output_size - 1, r.output_size - 1)})
             for r in rows[1:]]
    report = []
    for row, layer_units, support in zip(rows[1:], units, gradient_supports(fn, input_shape, units)):
        bad = []
        for (i, j), s in zip(layer_units, support):
            got_r, got_c, filled = support_box(s)
            want_r, want_c = clipped_span(row, i, H), clipped_span(row, j, W)
            if (got_r, got_c, filled) != (want_r, want_c, True):
                bad.append(f"unit ({i},{j}): measured rows {got_r} cols {got_c} filled={filled}, "
                           f"analytic rows {want_r} cols {want_c}")
        name = row.layer.name
        report.append(f"MISMATCH {name}: " + "; ".join(bad) if bad else
                      f"ok {name}: units {layer_units} see exactly the analytic spans (RF {row.size}, "
                      f"stride {row.stride}, padding {row.padding})")
    return report


def signal_supports(fn: Callable[[jax.Array], Sequence[jax.Array]], input_shape: Sequence[int],
                    units: Sequence[Sequence[int]]) -> list[np.ndarray]:
    """1-D ``gradient_supports``: ``fn`` maps ``1 x T x C`` to ``1 x T_l x C_l`` maps; ``U_l x T`` booleans."""
    x = jnp.ones((1, *input_shape), jnp.float32)
    ys = jax.eval_shape(fn, x)
    total = sum(len(u) for u in units)
    cotangents = [np.zeros((total, *y.shape), y.dtype) for y in ys]
    k = 0
    for layer, layer_units in enumerate(units):
        for t in layer_units:
            cotangents[layer][k, 0, t, :] = 1
            k += 1

    @jax.jit
    def support(x, cotangents):
        _, vjp = jax.vjp(dependency_probe(fn), x)
        (g_UxTxC,) = jax.vmap(vjp)(cotangents)
        return jnp.any(g_UxTxC[:, 0] != 0, axis=-1)

    s = np.asarray(support(x, cotangents))
    bounds = np.cumsum([0] + [len(u) for u in units])
    return [s[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def compare_1d(fn: Callable[[jax.Array], Sequence[jax.Array]], input_shape: Sequence[int],
               rows: Sequence[Row]) -> list[str]:
    """``compare`` for signals: first, middle and last unit of every layer, measured against ``rows``."""
    T = input_shape[0]
    units = [sorted({0, r.output_size // 2, r.output_size - 1}) for r in rows[1:]]
    report = []
    for row, layer_units, support in zip(rows[1:], units, signal_supports(fn, input_shape, units)):
        bad = []
        for t, s in zip(layer_units, support):
            where = np.nonzero(s)[0]
            got = (int(where.min()), int(where.max())) if where.size else (0, -1)
            filled = bool(where.size) and bool(s[got[0]:got[1] + 1].all())
            want = clipped_span(row, t, T)
            if (got, filled) != (want, True):
                bad.append(f"unit {t}: measured steps {got} filled={filled}, analytic {want}")
        name = row.layer.name
        report.append(f"MISMATCH {name}: " + "; ".join(bad) if bad else
                      f"ok {name}: units {layer_units} see exactly the analytic spans (RF {row.size}, "
                      f"stride {row.stride}, padding {row.padding})")
    return report


__all__ = ["Layer", "Row", "clipped_span", "compare", "compare_1d", "signal_supports", "dependency_probe", "format_table", "gradient_supports",
           "positive_copy", "receptive_fields", "support_box"]
