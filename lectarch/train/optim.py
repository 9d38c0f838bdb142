"""Optimisers, schedules and gradient clipping from the config, as one optax transformation.

The learning rate is injected as a hyperparameter (``optax.inject_hyperparams``), so it lives in
the optimiser state: logged every step, and a batched (vmapped) sweep can give each trial its own.
"""

import ml_collections
import optax


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
            import jax.numpy as jnp
            step = jnp.maximum(step, 1).astype(jnp.float32)
            return lr * jnp.minimum(step / s.warmup_steps, jnp.sqrt(s.warmup_steps / step))
        return inverse_sqrt
    raise ValueError(f"unknown schedule {s.name!r}")


def _base(name: str, o: ml_collections.ConfigDict):
    def make(learning_rate):
        if name == "sgd":
            return optax.sgd(learning_rate)
        if name == "momentum":
            return optax.sgd(learning_rate, momentum=o.momentum)
        if name == "nesterov":
            return optax.sgd(learning_rate, momentum=o.momentum, nesterov=True)
        if name == "adam":
            return optax.adam(learning_rate, b1=o.b1, b2=o.b2, eps=o.eps)
        if name == "adamw":
            return optax.adamw(learning_rate, b1=o.b1, b2=o.b2, eps=o.eps, weight_decay=o.weight_decay)
        raise ValueError(f"unknown optimizer {name!r}")
    return make


def optimizer(cfg: ml_collections.ConfigDict) -> optax.GradientTransformation:
    """Clipping (elementwise, then global norm) followed by the optimiser with its schedule."""
    chain = []
    if cfg.clip.elementwise > 0:
        chain.append(optax.clip(cfg.clip.elementwise))
    if cfg.clip.global_norm > 0:
        chain.append(optax.clip_by_global_norm(cfg.clip.global_norm))
    opt = optax.inject_hyperparams(_base(cfg.optimizer.name, cfg.optimizer))(learning_rate=schedule(cfg))
    if cfg.optimizer.name != "adamw" and cfg.optimizer.weight_decay > 0:
        chain.append(optax.add_decayed_weights(cfg.optimizer.weight_decay))
    chain.append(opt)
    return optax.chain(*chain)


def current_learning_rate(opt_state) -> "jax.Array":  # noqa: F821
    """The learning rate the last update used, found in the injected-hyperparameter state."""
    for s in opt_state:
        if hasattr(s, "hyperparams") and "learning_rate" in s.hyperparams:
            return s.hyperparams["learning_rate"]
    raise ValueError("optimizer state has no injected learning rate")
