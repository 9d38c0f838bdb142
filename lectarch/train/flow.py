"""Gradient flow watched during training: pure, jit-able numbers of a step's gradients.

- ``layer_flow(grads, params)``: per layer (a submodule holding parameters, ``hidden.3``),
  ||dL/dW_l|| and ||dL/dW_l|| / ||W_l||;
- ``state_grad_norms(...)``: for a recurrent model (``StatePerturbations``), ||dL/dh_t|| for t = 1..T
  from one backward pass at zero perturbations of the hidden state;
- ``flow_warning``: the one rule for a gradient that vanishes or explodes between the input end and
  the output end (layers in forward order, or time steps t = 1..T);
- ``make_flow_fn``: the program the trainer runs at ``config.log_grad_flow_every`` steps, apart from
  the train step, so the steps that do not log it are unchanged.

``lectarch.inspect.gradflow`` and ``lectarch.inspect.timeflow`` build the probes of ``lectarch
gradflow`` on the same functions.
"""

import re
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from lectarch.train.objectives import Objective
from lectarch.train.tree_names import path_names


def layer_of(path, depth: int | None = None) -> str:
    """The layer a parameter belongs to: its path without the parameter's own name, cut to ``depth``."""
    names = path_names(path)
    module = names[:-1] or names
    return ".".join(module[:depth] if depth else module)


def natural_key(name: str) -> list:
    """Sort ``hidden.10`` after ``hidden.9``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def layer_flow(grads: nnx.State, params: nnx.State, depth: int | None = None) -> dict[str, jax.Array]:
    """Pure and jit-able: ``{"grad_flow/<layer>/grad_norm": ||dL/dW_l||, "grad_flow/<layer>/ratio":
    ||dL/dW_l|| / ||W_l||}`` for every layer (the numbers of ``layer_norms``, as float32 arrays)."""
    sq_g: dict[str, jax.Array] = {}
    sq_w: dict[str, jax.Array] = {}
    flat_w = dict(jax.tree_util.tree_flatten_with_path(params)[0])
    for path, g in jax.tree_util.tree_flatten_with_path(grads)[0]:
        name = layer_of(path, depth)
        g32, w32 = g.astype(jnp.float32), flat_w[path].astype(jnp.float32)
        sq_g[name] = sq_g.get(name, 0.0) + jnp.sum(g32 * g32)
        sq_w[name] = sq_w.get(name, 0.0) + jnp.sum(w32 * w32)
    out = {}
    for name in sorted(sq_g, key=natural_key):
        g, w = jnp.sqrt(sq_g[name]), jnp.sqrt(sq_w[name])
        out[f"grad_flow/{name}/grad_norm"] = g
        out[f"grad_flow/{name}/ratio"] = jnp.where(w > 0, g / jnp.where(w > 0, w, 1.0), jnp.nan)
    return out


FLOW_FACTOR = 1e6  # input end this many times smaller (larger) than the output end: vanishing (exploding)


def flow_warning(norms_input_to_output: Sequence[float], what: str = "||dL/dW||",
                 factor: float = FLOW_FACTOR) -> str | None:
    """One line when the gradient at the input end (first) is more than ``factor`` times smaller
    (vanishing) or larger (exploding) than at the output end (last); None otherwise (and for fewer
    than two finite, positive values at the ends)."""
    if len(norms_input_to_output) < 2:
        return None
    first, last = float(norms_input_to_output[0]), float(norms_input_to_output[-1])
    if not (np.isfinite(first) and np.isfinite(last)) or first < 0 or last <= 0:
        return None
    ratio = first / last
    if ratio * factor < 1:
        return (f"vanishing gradient: {what} at the input end is {first:.3g}, {1 / ratio if ratio else float('inf'):.3g} "
                f"times smaller than at the output end ({last:.3g})")
    if ratio > factor:
        return f"exploding gradient: {what} at the input end is {first:.3g}, {ratio:.3g} times larger than at the output end ({last:.3g})"
    return None


def state_grads(graphdef, objective, params, rest, batch: dict, key) -> dict[str, jax.Array]:
    """Pure and jit-able: dL/dh_t (and dL/dc_t) for every layer and step, ``{"<layer>.<h|c>": T x B x H}``,
    from one backward pass at zero perturbations; training mode with ``key``, as the train step."""
    from flax import nnx

    zeros = nnx.merge(graphdef, params, rest).zero_perturbations(batch["inputs"])

    def loss_of(d):
        model = nnx.merge(graphdef, params, rest)
        outputs = model(batch["inputs"], train=True, rngs=nnx.Rngs(dropout=key), perturbations=d)
        return objective(outputs, batch)[0]

    return jax.grad(loss_of)(zeros)


def state_grad_norms(graphdef, objective, params, rest, batch: dict, key) -> dict[str, jax.Array]:
    """Pure and jit-able: ``{"<layer>.<h|c>": ||dL/dh_t|| for t = 1..T}`` (the norms of ``state_grads``)."""
    grads = state_grads(graphdef, objective, params, rest, batch, key)
    return {k: jnp.sqrt(jnp.sum(jnp.square(v.astype(jnp.float32)).reshape(v.shape[0], -1), axis=1))
            for k, v in grads.items()}


def make_flow_fn(graphdef: nnx.GraphDef, objective: Objective, recurrent: bool):
    """``flow(params, rest, batch, key) -> {name: array}``: ``layer_flow`` of the loss gradient in
    training mode with the step's ``key`` (the gradient the step itself uses), and for a recurrent
    model ``time/<layer>.<h|c>``: ||dL/dh_t|| over t."""
    from lectarch.train.step import make_loss_fn

    loss_fn = make_loss_fn(graphdef, objective)

    def flow(params, rest, batch, key):
        grads = jax.grad(lambda p: loss_fn(p, rest, batch, key, True)[0])(params)
        out = layer_flow(grads, params)
        if recurrent:
            out.update({f"time/{k}": v for k, v in state_grad_norms(graphdef, objective, params, rest, batch, key).items()})
        return out

    return flow


__all__ = ["FLOW_FACTOR", "flow_warning", "layer_flow", "layer_of", "make_flow_fn", "natural_key",
           "state_grad_norms", "state_grads"]
