"""Optimisers, schedules and gradient clipping from the config, as one optax transformation.

``chain`` is the one place the update is assembled (clipping, weight decay, the base optimiser);
``optimizer(cfg)`` injects the scheduled learning rate into it (``optax.inject_hyperparams``), so
the rate lives in the optimiser state and is logged every step. A vmapped sweep injects every
scalar of the same ``chain``, so each trial carries its own numbers in its state.
"""

import functools

import jax
import jax.numpy as jnp
import ml_collections
import optax

# config.optimizer.name -> base optimiser at a learning rate (weight decay is added by ``chain``).
OPTIMIZERS = {
    "sgd": lambda lr, o: optax.sgd(lr),
    "momentum": lambda lr, o: optax.sgd(lr, momentum=o.momentum),
    "nesterov": lambda lr, o: optax.sgd(lr, momentum=o.momentum, nesterov=True),
    "adam": lambda lr, o: optax.adam(lr, b1=o.b1, b2=o.b2, eps=o.eps),
    "adamw": None,  # adam with decoupled weight decay: built by ``chain`` with its weight_decay
}
SCHEDULES = ("constant", "cosine", "warmup_cosine", "linear_warmup", "inverse_sqrt")


def schedule(cfg: ml_collections.ConfigDict) -> optax.Schedule:
    lr, s = cfg.learning_rate, cfg.schedule
    if s.name == "constant":
        return optax.constant_schedule(lr)
    if s.name == "cosine":
        return optax.cosine_decay_schedule(lr, cfg.num_steps, alpha=s.end_factor)
    if s.name == "warmup_cosine":
        return optax.warmup_cosine_decay_schedule(0.0, lr, s.warmup_steps, max(cfg.num_steps, s.warmup_steps + 1),
                                                  end_value=lr * s.end_factor)
    if s.name == "linear_warmup":
        return optax.join_schedules(
            [optax.linear_schedule(0.0, lr, s.warmup_steps), optax.constant_schedule(lr)], [s.warmup_steps])
    if s.name == "inverse_sqrt":  # Vaswani et al.: lr * min(step / warmup, sqrt(warmup / step))
        def inverse_sqrt(step):
            step = jnp.maximum(step, 1).astype(jnp.float32)
            return lr * jnp.minimum(step / s.warmup_steps, jnp.sqrt(s.warmup_steps / step))
        return inverse_sqrt
    raise ValueError(f"unknown schedule {s.name!r}")


def chain(o: ml_collections.ConfigDict, learning_rate, weight_decay=None, global_norm=None,
          elementwise=None) -> optax.GradientTransformation:
    """Elementwise clip, global-norm clip, weight decay (adamw: decoupled, inside adam), base optimiser.

    ``None`` leaves a part out; a number (or a traced scalar, when injected) keeps it in.
    """
    parts = []
    if elementwise is not None:
        parts.append(optax.clip(elementwise))
    if global_norm is not None:
        parts.append(optax.clip_by_global_norm(global_norm))
    if o.name == "adamw":
        return optax.chain(*parts, optax.adamw(learning_rate, b1=o.b1, b2=o.b2, eps=o.eps,
                                               weight_decay=0.0 if weight_decay is None else weight_decay))
    if o.name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {o.name!r}")
    if weight_decay is not None:
        parts.append(optax.add_decayed_weights(weight_decay))
    return optax.chain(*parts, OPTIMIZERS[o.name](learning_rate, o))


def _on(x: float) -> float | None:
    return x if x > 0 else None


def standard_promotion(tx: optax.GradientTransformation) -> optax.GradientTransformation:
    """``tx`` with its ``init`` and ``update`` traced under JAX's standard dtype promotion: optax's
    schedules and bias corrections mix Python floats with int32 step counts, which the strict
    promotion of lectarch's tests (tests/conftest.py) refuses. Same state, same numbers."""
    def init(params):
        with jax.numpy_dtype_promotion("standard"):
            return tx.init(params)

    def update(updates, state, params=None):
        with jax.numpy_dtype_promotion("standard"):
            return tx.update(updates, state, params)

    return optax.GradientTransformation(init, update)


def optimizer(cfg: ml_collections.ConfigDict) -> optax.GradientTransformation:
    """``chain`` with the config's parts (0 turns a clip or the decay off) at the scheduled rate."""
    o = cfg.optimizer
    make = functools.partial(chain, o, weight_decay=o.weight_decay if o.name == "adamw" else _on(o.weight_decay),
                             global_norm=_on(cfg.clip.global_norm), elementwise=_on(cfg.clip.elementwise))
    return standard_promotion(optax.inject_hyperparams(make, static_args=("weight_decay", "global_norm", "elementwise"))(
        learning_rate=schedule(cfg)))


def current_learning_rate(opt_state) -> "jax.Array":  # noqa: F821
    """The learning rate the last update used, found in the injected-hyperparameter state."""
    for s in (opt_state, *(opt_state if isinstance(opt_state, tuple) else ())):
        if "learning_rate" in getattr(s, "hyperparams", {}):
            return s.hyperparams["learning_rate"]
    raise ValueError("optimizer state has no injected learning rate")
