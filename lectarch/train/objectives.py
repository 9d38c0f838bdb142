"""Losses and metrics, chosen by ``config.objective``; the trainer knows nothing else of a task.

``config.objective`` is a built-in name below or a module path; either way the module's
``build(cfg) -> Objective`` makes the function (``lectarch.experiment.build_objective``), with the
config's ``label_smoothing`` where the objective takes it.

An objective is ``fn(outputs, batch) -> (loss, metrics, weight)``: ``loss`` is the weighted mean
over the batch, ``metrics`` a dict of weighted means (``loss`` included), ``weight`` the total
weight, so evaluation can combine batches exactly. Rows with ``batch["weight"] == 0`` (padding of
the last eval batch) and targets with ``batch["mask"] == 0`` (padded time steps) count for nothing.
"""

import math
from collections.abc import Callable

import ml_collections

import jax
import jax.numpy as jnp
import optax

from lectarch.config.errors import ConfigError

Objective = Callable[[jax.Array, dict], tuple[jax.Array, dict[str, jax.Array], jax.Array]]


def _weights(batch: dict, shape: tuple[int, ...]) -> jax.Array:
    """Per-target weights of ``shape`` (batch first) from ``weight`` (per row) and ``mask``."""
    w = jnp.ones(shape, jnp.float32)
    if "mask" in batch:
        w = w * batch["mask"].astype(jnp.float32).reshape(shape)
    if "weight" in batch:
        w = w * batch["weight"].astype(jnp.float32).reshape((shape[0],) + (1,) * (len(shape) - 1))
    return w


def _mean(x: jax.Array, w: jax.Array) -> tuple[jax.Array, jax.Array]:
    total = jnp.sum(w)
    return jnp.sum(x * w) / jnp.maximum(total, 1e-12), total


def classification(logits: jax.Array, batch: dict, label_smoothing: float = 0.0):
    """Softmax cross-entropy over the last axis; any leading axes (batch, time) are averaged."""
    targets = batch["targets"]
    logits = logits.astype(jnp.float32)
    num_classes = logits.shape[-1]
    if label_smoothing:
        onehot = optax.smooth_labels(jax.nn.one_hot(targets, num_classes), label_smoothing)
        ce = optax.softmax_cross_entropy(logits, onehot)
    else:
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
    w = _weights(batch, targets.shape)
    loss, total = _mean(ce, w)
    accuracy, _ = _mean((jnp.argmax(logits, -1) == targets).astype(jnp.float32), w)
    return loss, {"loss": loss, "accuracy": accuracy}, total


def tokens(logits: jax.Array, batch: dict, label_smoothing: float = 0.0):
    """Token-level cross-entropy, with bits per token (bits per character for character models)."""
    loss, metrics, total = classification(logits, batch, label_smoothing)
    metrics["bits_per_token"] = loss / math.log(2.0)
    return loss, metrics, total


def regression(predictions: jax.Array, batch: dict):
    """Mean squared error; predictions of shape (B, 1) and targets (B,) are matched."""
    targets = batch["targets"].astype(jnp.float32)
    predictions = predictions.astype(jnp.float32).reshape(targets.shape + (-1,))
    se = jnp.sum((predictions - targets[..., None]) ** 2, axis=-1) / predictions.shape[-1]
    loss, total = _mean(se, _weights(batch, targets.shape))
    return loss, {"loss": loss, "mse": loss}, total


OBJECTIVES: dict[str, Objective] = {
    "classification": classification,
    "tokens": tokens,
    "regression": regression,
}


SMOOTHED = ("classification", "tokens")  # the built-ins that take label_smoothing


def build(cfg: ml_collections.ConfigDict) -> Objective:
    """The built-in objective ``cfg.objective``, with ``cfg.label_smoothing`` where it applies."""
    fn = OBJECTIVES[cfg.objective]
    smoothing = float(cfg.get("label_smoothing", 0.0))
    if not smoothing:
        return fn
    return lambda outputs, batch: fn(outputs, batch, label_smoothing=smoothing)


def validate_config(cfg: ml_collections.ConfigDict) -> None:
    if cfg.get("label_smoothing", 0.0) and cfg.objective not in SMOOTHED:
        raise ConfigError(f"config.label_smoothing={cfg.label_smoothing!r} is not allowed with "
                          f"objective {cfg.objective!r}: only {', '.join(SMOOTHED)} smooth labels")
