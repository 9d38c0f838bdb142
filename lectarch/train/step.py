"""The pure train and eval steps: ``(state, batch) -> (state, metrics)``.

Nothing here touches devices, files or clocks, so ``jax.make_jaxpr(train_step)(state, batch)``
prints exactly what XLA will run. ``lectarch.train.sharding`` jits these over a device mesh.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from lectarch.config.defaults import NONFINITE_CHECKS
from lectarch.train.objectives import Objective
from lectarch.train.optim import current_learning_rate
from lectarch.train.state import TrainState
from lectarch.train.tree_names import path_names

Step = Callable[[TrainState, dict], tuple[TrainState, dict]]


def step_key(state: TrainState) -> jax.Array:
    return jax.random.fold_in(state.key, state.step)


def make_loss_fn(graphdef: nnx.GraphDef, objective: Objective):
    """``loss_fn(params, rest, batch, key, train) -> (loss, (metrics, weight))``."""

    def loss_fn(params, rest, batch, key, train=True):
        model = nnx.merge(graphdef, params, rest)
        outputs = model(batch["inputs"], train=train, rngs=nnx.Rngs(dropout=key) if train else None)
        loss, metrics, weight = objective(outputs, batch)
        return loss, (metrics, weight)

    return loss_fn


def group_norms(grads: nnx.State) -> dict[str, jax.Array]:
    """Gradient norm per parameter group (the module holding the parameter, e.g. ``hidden.0``)."""
    sq: dict[str, jax.Array] = {}
    for path, g in jax.tree_util.tree_flatten_with_path(grads)[0]:
        names = path_names(path)
        group = ".".join(names[:-1]) or names[-1]
        sq[group] = sq.get(group, 0.0) + jnp.sum(jnp.square(g.astype(jnp.float32)))
    return {f"grad_norm/{k}": jnp.sqrt(v) for k, v in sq.items()}


def all_finite(tree) -> jax.Array:
    """True when every element of every leaf is finite (one boolean, no norm computed)."""
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
    return jnp.stack(leaves).all() if leaves else jnp.array(True)


def apply_gradients(tx: optax.GradientTransformation, state: TrainState, grads, metrics: dict,
                    log_grad_norms: bool = False, lean: bool = False,
                    nonfinite_check: str = "params") -> tuple[TrainState, dict]:
    """One optimiser update; a non-finite loss or update freezes the state from that step on.

    ``nonfinite_check="params"``: finiteness is judged on the loss and the updated parameters (a
    non-finite gradient makes them non-finite; the optimiser state is not checked: some hold a
    legitimate inf, such as a best loss so far). ``"loss"``: on the loss only, so the update stays
    one fused pass ``where(good, p + u, p)`` per parameter, with no reduction over all of them (on a
    CPU that pass decides whether XLA can fuse the weight gradient into the update: ~11% of an
    AlexNet step, docs/benchmarks.md); a NaN that reaches only the gradient enters the parameters
    and freezes the state one step later, at the first loss it makes non-finite. On finite steps
    both give the same state, bit for bit; and a ``lean`` step, which skips the global gradient norm
    (a full pass over every gradient, ~5-14% of a CPU step), updates the state exactly as the full one.
    """
    if nonfinite_check not in NONFINITE_CHECKS:
        raise ValueError(f"nonfinite_check must be one of {NONFINITE_CHECKS}, got {nonfinite_check!r}")
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    finite = jnp.isfinite(metrics["loss"]) & (state.nonfinite_step < 0)
    keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(finite, a, b), new, old)  # noqa: E731
    if nonfinite_check == "params":
        params = optax.apply_updates(state.params, updates)
        finite = finite & all_finite(params)
        params = keep(params, state.params)
    else:  # the sum and the choice in one elementwise pass, as optax.apply_updates rounds it
        params = jax.tree.map(lambda p, u: jnp.where(finite, (p + u).astype(p.dtype), p), state.params, updates)
    nonfinite_step = jnp.where((state.nonfinite_step < 0) & ~finite, state.step, state.nonfinite_step)
    new_state = state.replace(step=state.step + 1, params=params,
                              opt_state=keep(opt_state, state.opt_state), nonfinite_step=nonfinite_step)
    metrics = dict(metrics, learning_rate=current_learning_rate(opt_state), nonfinite_step=nonfinite_step)
    if not lean:
        metrics["grad_norm"] = optax.tree.norm(grads)
        if log_grad_norms:
            metrics.update(group_norms(grads))
    return new_state, metrics


def make_train_step(graphdef: nnx.GraphDef, tx: optax.GradientTransformation, objective: Objective,
                    log_grad_norms: bool = False, lean: bool = False, nonfinite_check: str = "params") -> Step:
    """The train step; ``lean=True`` leaves the gradient norms out of the metrics (same new state);
    ``nonfinite_check``: what freezes the state at a bad step (``apply_gradients``)."""
    loss_fn = make_loss_fn(graphdef, objective)

    def train_step(state: TrainState, batch: dict) -> tuple[TrainState, dict]:
        (_, (metrics, _)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, state.rest, batch, step_key(state))
        return apply_gradients(tx, state, grads, metrics, log_grad_norms, lean, nonfinite_check)

    return train_step


def make_eval_step(graphdef: nnx.GraphDef, objective: Objective):
    """``eval_step(state, batch) -> (weighted metric sums, total weight)``: sums add across batches."""
    loss_fn = make_loss_fn(graphdef, objective)

    def eval_step(state: TrainState, batch: dict):
        _, (metrics, weight) = loss_fn(state.params, state.rest, batch, None, train=False)
        return {k: v * weight for k, v in metrics.items()}, weight

    return eval_step
