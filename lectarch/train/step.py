"""The pure train and eval steps: ``(state, batch) -> (state, metrics)``, built in one place.

Nothing here touches devices, files or clocks, so ``jax.make_jaxpr(train_step)(state, batch)``
prints exactly what XLA will run. ``lectarch.train.sharding`` jits these over a device mesh.
"""

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import nnx

from lectarch.config.defaults import NONFINITE_CHECK_DEFAULT, NONFINITE_CHECKS
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


@dataclasses.dataclass(frozen=True)
class StepOptions:
    """What a train step does besides the update; ``step_options(cfg, kind)`` is the one place it is built.

    - ``nonfinite_check``: what freezes the state at a bad step (``apply_gradients``);
    - ``log_grad_norms``: per-parameter-group gradient norms in the metrics;
    - ``lean``: leave the global gradient norm out of the metrics (the same new state, one pass less).
    """

    nonfinite_check: str
    log_grad_norms: bool
    lean: bool

    def __post_init__(self):
        if self.nonfinite_check not in NONFINITE_CHECKS:
            raise ValueError(f"nonfinite_check must be one of {NONFINITE_CHECKS}, got {self.nonfinite_check!r}")


# "lean": the step between boundaries, whose metrics nobody reads (the step that runs most);
# "logging": the step at log, eval and checkpoint boundaries.
STEP_KINDS = ("lean", "logging")


def step_options(cfg: ml_collections.ConfigDict, kind: str = "lean") -> StepOptions:
    """The options of the ``kind`` step of ``cfg``'s run, as the trainer, inspection, sweeps and bench use them.

    A logging step checks the loss and every updated parameter, so a state that is logged, evaluated or
    saved is always finite; a lean step checks what ``config.nonfinite_check`` says. On finite steps both
    update the state alike, bit for bit.
    """
    if kind == "lean":
        return StepOptions(nonfinite_check=cfg.get("nonfinite_check", NONFINITE_CHECK_DEFAULT),
                           log_grad_norms=False, lean=True)
    if kind == "logging":
        return StepOptions(nonfinite_check="params", log_grad_norms=bool(cfg.get("log_grad_norms", False)),
                           lean=False)
    raise ValueError(f"step kind must be one of {STEP_KINDS}, got {kind!r}")


def apply_gradients(tx: optax.GradientTransformation, state: TrainState, grads, metrics: dict,
                    options: StepOptions) -> tuple[TrainState, dict]:
    """One optimiser update; a non-finite loss or update freezes the state from that step on.

    ``nonfinite_check="params"``: finiteness is judged on the loss and the updated parameters (a
    non-finite gradient makes them non-finite; the optimiser state is not checked: some hold a
    legitimate inf, such as a best loss so far). ``"loss"``: on the loss only, so the update stays
    one fused pass ``where(good, p + u, p)`` per parameter, with no reduction over all of them; a NaN
    that reaches only the gradient enters the parameters and freezes the state one step later, at
    the first loss it makes non-finite. On finite steps both give the same state, bit for bit.
    """
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    finite = jnp.isfinite(metrics["loss"]) & (state.nonfinite_step < 0)
    keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(finite, a, b), new, old)  # noqa: E731
    if options.nonfinite_check == "params":
        params = optax.apply_updates(state.params, updates)
        finite = finite & all_finite(params)
        params = keep(params, state.params)
    else:  # the sum and the choice in one elementwise pass, as optax.apply_updates rounds it
        params = jax.tree.map(lambda p, u: jnp.where(finite, (p + u).astype(p.dtype), p), state.params, updates)
    nonfinite_step = jnp.where((state.nonfinite_step < 0) & ~finite, state.step, state.nonfinite_step)
    new_state = state.replace(step=state.step + 1, params=params,
                              opt_state=keep(opt_state, state.opt_state), nonfinite_step=nonfinite_step)
    metrics = dict(metrics, learning_rate=current_learning_rate(opt_state), nonfinite_step=nonfinite_step)
    if not options.lean:
        metrics["grad_norm"] = optax.tree.norm(grads)
        if options.log_grad_norms:
            metrics.update(group_norms(grads))
    return new_state, metrics


def make_train_step(graphdef: nnx.GraphDef, tx: optax.GradientTransformation, objective: Objective,
                    options: StepOptions) -> Step:
    """The train step ``(state, batch) -> (state, metrics)``: the one builder of every train step
    (trainer, inspection, vmapped sweeps, bench); ``options`` from ``step_options(cfg, kind)``."""
    loss_fn = make_loss_fn(graphdef, objective)

    def train_step(state: TrainState, batch: dict) -> tuple[TrainState, dict]:
        (_, (metrics, _)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, state.rest, batch, step_key(state))
        return apply_gradients(tx, state, grads, metrics, options)

    return train_step


def make_eval_step(graphdef: nnx.GraphDef, objective: Objective):
    """``eval_step(state, batch) -> (weighted metric sums, total weight)``: sums add across batches."""
    loss_fn = make_loss_fn(graphdef, objective)

    def eval_step(state: TrainState, batch: dict):
        _, (metrics, weight) = loss_fn(state.params, state.rest, batch, None, train=False)
        return {k: v * weight for k, v in metrics.items()}, weight

    return eval_step
