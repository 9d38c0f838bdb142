"""Evaluation over the whole eval split: weighted metric sums, added across batches, then means.

``eval_step(state, batch) -> (weighted sums, total weight)`` (``lectarch.train.step.make_eval_step``)
makes the sums exact across batches of any size; the trainer and the vmapped sweep (whose sums have
a leading trial axis) both add them here.
"""

from collections.abc import Callable, Iterable

import jax
import numpy as np


def eval_sums(eval_step: Callable, state, batches: Iterable[dict]) -> tuple[dict, np.ndarray]:
    """The metric sums and total weight over ``batches``, on the host (one transfer at the end)."""
    totals, weight = {}, 0.0
    for batch in batches:
        sums, w = eval_step(state, batch)
        for k, v in sums.items():
            totals[k] = totals[k] + v if k in totals else v
        weight = weight + w
    return jax.device_get((totals, weight))


def means(totals: dict, weight) -> dict:
    """Weighted means: floats, or arrays with one value per trial when the sums have a trial axis."""
    w = np.maximum(np.asarray(weight, np.float64), 1e-12)
    out = {k: np.asarray(v, np.float64) / w for k, v in totals.items()}
    return {k: float(v) if v.ndim == 0 else v for k, v in out.items()}
