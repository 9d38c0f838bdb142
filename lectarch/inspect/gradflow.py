"""Gradient flow through depth: the gradient norm of every layer of any nnx model.

A layer is a submodule that holds parameters, named by its path in the model (``hidden.3``,
``conv2``, ``encoder.layers.1.attention.query``). For layer l with parameters W_l,

    ||dL/dW_l||_2 = sqrt(sum over its arrays of sum(g^2)),   and the ratio ||dL/dW_l|| / ||W_l||,

the relative size of one SGD step. In a deep sigmoid MLP ||dL/dW_l|| shrinks geometrically from
the output towards the input (each layer multiplies the backward signal by W^T diag(sigma'),
with sigma' <= 1/4): the vanishing gradient through depth. ``depth`` groups paths by their first
``depth`` parts (e.g. ``depth=3``: one row per Transformer block ``encoder.layers.1``).

During training, ``layer_flow`` gives the same numbers as arrays inside a jitted program (no host
transfer), and ``flow_warning`` is the one rule for a gradient that vanishes or explodes between the
output end and the input end of a network (layers in forward order, or time steps t = 1..T).
"""

import dataclasses

import jax
import numpy as np
from flax import nnx
from jax.extend import core as jex_core

from lectarch.inspect.programs import forward, grad
from lectarch.train.run import Run
from lectarch.train.flow import FLOW_FACTOR, flow_warning, layer_flow, layer_of, natural_key  # noqa: F401


@dataclasses.dataclass
class LayerGradNorm:
    """One row of gradient-flow numbers for a layer: its gradient norm beside its weight norm."""

    layer: str  # submodule path, e.g. "hidden.3"
    grad_norm: float  # ||dL/dW_l||
    param_norm: float  # ||W_l||
    num_params: int

    @property
    def ratio(self) -> float:
        return self.grad_norm / self.param_norm if self.param_norm > 0 else float("nan")

    def row(self) -> dict:
        return dict(dataclasses.asdict(self), ratio=self.ratio)


def layer_norms(grads: nnx.State, params: nnx.State, depth: int | None = None) -> list[LayerGradNorm]:
    """One row per layer, in natural path order."""
    sq_g: dict[str, float] = {}
    sq_w: dict[str, float] = {}
    sizes: dict[str, int] = {}
    flat_w = dict(jax.tree_util.tree_flatten_with_path(params)[0])
    for path, g in jax.tree_util.tree_flatten_with_path(grads)[0]:
        name = layer_of(path, depth)
        w = flat_w[path]
        g64, w64 = np.asarray(g, np.float64), np.asarray(w, np.float64)  # on the host: no compiles
        sq_g[name] = sq_g.get(name, 0.0) + float(np.sum(g64 * g64))
        sq_w[name] = sq_w.get(name, 0.0) + float(np.sum(w64 * w64))
        sizes[name] = sizes.get(name, 0) + int(np.size(w))
    return [LayerGradNorm(name, float(np.sqrt(sq_g[name])), float(np.sqrt(sq_w[name])), sizes[name])
            for name in sorted(sq_g, key=natural_key)]


def forward_order(run: Run, depth: int | None = None) -> dict[str, int]:
    """Each layer's position in the forward pass: the first equation of the forward jaxpr that
    reads one of its arrays (so an MLP's ``out`` comes after ``hidden.11`` and a recurrent
    network's ``head`` after its ``stack``)."""
    s, inputs = run.state, run.batch["inputs"]
    jaxpr = jax.make_jaxpr(lambda params: forward(run)(params, s.rest, inputs))(s.params).jaxpr
    first: dict = {}
    for i, eqn in enumerate(jaxpr.eqns):
        for v in eqn.invars:
            if isinstance(v, jex_core.Var):
                first.setdefault(v, i)
    order: dict[str, int] = {}
    paths = [path for path, _ in jax.tree_util.tree_flatten_with_path(s.params)[0]]
    for path, var in zip(paths, jaxpr.invars):
        name = layer_of(path, depth)
        order[name] = min(order.get(name, len(jaxpr.eqns)), first.get(var, len(jaxpr.eqns)))
    return order


def layer_probe(run: Run, batch: dict | None = None, depth: int | None = None) -> list[LayerGradNorm]:
    """Per-layer gradient norms of the loss on ``batch`` (default: the run' batch), at the
    run' parameters (fresh ones, or a checkpoint's), in forward order. Training mode, with
    the step's key, as in the train step."""
    from lectarch.train.step import step_key

    s = run.state
    batch = run.batch if batch is None else batch
    grads = jax.jit(grad(run))(s.params, s.rest, batch, step_key(s))
    order = forward_order(run, depth)
    return sorted(layer_norms(grads, s.params, depth), key=lambda r: order.get(r.layer, 1 << 30))
