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
from lectarch.train.state import TrainState, evaluated_params
from lectarch.train.tree_names import path_names

Step = Callable[[TrainState, dict], tuple[TrainState, dict]]


def step_key(state: TrainState) -> jax.Array:
    """Step ``state.step``'s typed key, ``fold_in(key, step)``, of the state's PRNG implementation
    (``config.prng_impl``): dropout and every other random draw of the step comes from it."""
    return jax.random.fold_in(jax.random.wrap_key_data(state.key, impl=state.prng_impl), state.step)


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
    - ``lean``: leave the global gradient norm out of the metrics (the same new state, one pass less);
    - ``accumulate_steps``: micro-batches per batch, their gradients summed inside the one step;
    - ``ema_decay``: the decay of the parameters' moving average kept in the state (0: none).
    """

    nonfinite_check: str
    log_grad_norms: bool
    lean: bool
    accumulate_steps: int = 1
    ema_decay: float = 0.0

    def __post_init__(self):
        if self.nonfinite_check not in NONFINITE_CHECKS:
            raise ValueError(f"nonfinite_check must be one of {NONFINITE_CHECKS}, got {self.nonfinite_check!r}")
        if self.accumulate_steps < 1:
            raise ValueError(f"accumulate_steps must be >= 1, got {self.accumulate_steps}")


# "lean": the step between boundaries, whose metrics nobody reads (the step that runs most);
# "logging": the step at log, eval and checkpoint boundaries.
STEP_KINDS = ("lean", "logging")


def step_options(cfg: ml_collections.ConfigDict, kind: str = "lean") -> StepOptions:
    """The options of the ``kind`` step of ``cfg``'s run, as the trainer, inspection, sweeps and bench use them.

    A logging step checks the loss and every updated parameter, so a state that is logged, evaluated or
    saved is always finite; a lean step checks what ``config.nonfinite_check`` says. On finite steps both
    update the state alike, bit for bit.
    """
    shared = dict(accumulate_steps=int(cfg.get("accumulate_steps", 1)), ema_decay=ema_decay(cfg))
    if kind == "lean":
        return StepOptions(nonfinite_check=cfg.get("nonfinite_check", NONFINITE_CHECK_DEFAULT),
                           log_grad_norms=False, lean=True, **shared)
    if kind == "logging":
        return StepOptions(nonfinite_check="params", log_grad_norms=bool(cfg.get("log_grad_norms", False)),
                           lean=False, **shared)
    raise ValueError(f"step kind must be one of {STEP_KINDS}, got {kind!r}")


def ema_decay(cfg: ml_collections.ConfigDict) -> float:
    """``config.ema.decay`` (0 when the config has no ``ema`` section: the average is off)."""
    return float(cfg.ema.decay) if "ema" in cfg else 0.0


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
    if state.ema_params is not None:  # ema <- decay * ema + (1 - decay) * params, on finite steps
        d = options.ema_decay
        new_state = new_state.replace(ema_params=keep(
            jax.tree.map(lambda e, p: (d * e + (1 - d) * p).astype(e.dtype), state.ema_params, params),
            state.ema_params))
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
    grads_fn = make_grads_fn(graphdef, objective, options.accumulate_steps)

    def train_step(state: TrainState, batch: dict) -> tuple[TrainState, dict]:
        grads, metrics = grads_fn(state.params, state.rest, batch, step_key(state))
        return apply_gradients(tx, state, grads, metrics, options)

    return train_step


def micro_batches(batch: dict, k: int) -> dict:
    """``batch`` (B rows) as ``k`` micro-batches of B/k rows, stacked on a new leading axis.

    Micro-batch ``j`` holds rows ``j, j + k, j + 2k, ...``: a device's block of a batch sharded over
    ``data`` keeps its rows in every micro-batch (B/devices must be a multiple of ``k``).
    """
    return jax.tree.map(lambda x: jnp.moveaxis(x.reshape(x.shape[0] // k, k, *x.shape[1:]), 1, 0), batch)


def make_grads_fn(graphdef: nnx.GraphDef, objective: Objective, accumulate_steps: int = 1):
    """``grads_fn(params, rest, batch, key) -> (dL/dparams, metrics)`` of the batch's weighted mean loss.

    With ``accumulate_steps=k > 1`` the batch is cut into ``k`` micro-batches (``micro_batches``) run
    one after another in a ``lax.scan``: each one's gradient and metrics are weighted by its share of
    the batch's weight and summed, which is the gradient of the whole batch (to float rounding) with
    the activations of one micro-batch alive at a time. Micro-batch ``j`` draws its dropout bits from
    ``fold_in(key, j)``.
    """
    value_and_grad = jax.value_and_grad(make_loss_fn(graphdef, objective), has_aux=True)

    def grads_fn(params, rest, batch, key):
        if accumulate_steps == 1:
            (_, (metrics, _)), grads = value_and_grad(params, rest, batch, key)
            return grads, metrics

        def add(total, j_and_batch):
            j, micro = j_and_batch
            (_, (metrics, weight)), grads = value_and_grad(params, rest, micro, jax.random.fold_in(key, j))
            g_sum, m_sum, w_sum = total
            g_sum = jax.tree.map(lambda a, g: a + weight * g.astype(a.dtype), g_sum, grads)
            m_sum = jax.tree.map(lambda a, m: a + weight * m, m_sum, metrics)
            return (g_sum, m_sum, w_sum + weight), None

        micro = micro_batches(batch, accumulate_steps)
        first = jax.tree.map(lambda x: x[0], micro)
        shapes = jax.eval_shape(lambda: value_and_grad(params, rest, first, key))
        (_, (metric_shapes, weight_shape)), grad_shapes = shapes
        zeros = lambda tree: jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), tree)  # noqa: E731
        init = (zeros(grad_shapes), zeros(metric_shapes), jnp.zeros(weight_shape.shape, weight_shape.dtype))
        (g_sum, m_sum, w_sum), _ = jax.lax.scan(add, init, (jnp.arange(accumulate_steps), micro))
        w = jnp.maximum(w_sum, jnp.finfo(w_sum.dtype).tiny)
        return jax.tree.map(lambda g: (g / w).astype(g.dtype), g_sum), jax.tree.map(lambda m: m / w, m_sum)

    return grads_fn


def make_eval_step(graphdef: nnx.GraphDef, objective: Objective, averaged: bool = False):
    """``eval_step(state, batch) -> (weighted metric sums, total weight)``: sums add across batches;
    ``averaged``: evaluate the parameters' moving average (``config.ema.evaluate``) where kept."""
    loss_fn = make_loss_fn(graphdef, objective)

    def eval_step(state: TrainState, batch: dict):
        _, (metrics, weight) = loss_fn(evaluated_params(state, averaged), state.rest, batch, None, train=False)
        return {k: v * weight for k, v in metrics.items()}, weight

    return eval_step
