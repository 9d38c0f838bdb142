"""A vmapped sweep trains each trial exactly as training that trial alone would (label smoothing and
gradient clipping on: the solo run spells its objective out, so a dropped config key shows)."""

import json

import jax
import numpy as np
import pytest

from lectarch.config import ConfigError
from lectarch.data import build_dataset, pipeline
from lectarch.sweep.vmapped import trial_config, train_vmapped
from lectarch.train.metrics import read_metrics
from lectarch.train.objectives import classification
from lectarch.train.optim import optimizer
from lectarch.train.state import init_state
from lectarch.train.step import make_train_step, step_options
from tests.helpers import config

STEPS = 6
# Every kind of scalar a trial may change; a cosine schedule, so the shared schedule shape matters.
TRIALS = [
    {"learning_rate": 3e-2, "optimizer.weight_decay": 1e-2, "clip.global_norm": 0.5, "seed": 1},
    {"learning_rate": 5e-3, "clip.elementwise": 0.01, "init_scale": 0.5, "seed": 0},
]


def _cfg():
    return config("mlp_digits", f"num_steps={STEPS}", "batch_size=16", "eval_batch_size=120", "log_every=1",
                  f"eval_every={STEPS}", "model.width=16", "schedule.name=cosine", "progress=false",
                  "label_smoothing=0.1")


def _alone(cfg, hp):
    """The trial trained by itself: the ordinary optimiser, train step and data stream of ``hp``'s config."""
    c = trial_config(cfg, hp)
    dataset = build_dataset(c)
    graphdef, state, tx = init_state(c, dataset.spec)  # lectarch.train.optim.optimizer(c)
    if "init_scale" in hp:
        params = jax.tree.map(lambda p: p * hp["init_scale"], state.params)
        state = state.replace(params=params, opt_state=tx.init(params))
    assert c.objective == "classification" and c.label_smoothing == 0.1
    smoothed = lambda outputs, batch: classification(outputs, batch, label_smoothing=0.1)  # noqa: E731
    step = jax.jit(make_train_step(graphdef, tx, smoothed, step_options(cfg, "logging")))
    losses = []
    for s in range(STEPS):
        state, m = step(state, pipeline.train_batch_at(dataset, batch_size=c.batch_size, seed=c.seed, step=s))
        losses.append(float(m["loss"]))
    return state, losses


def test_each_vmapped_trial_equals_training_it_alone(tmp_path):
    cfg = _cfg()
    diverging = {"learning_rate": 1e30, "seed": 0}  # must not disturb the others
    results = train_vmapped(cfg, [*TRIALS, diverging], tmp_path)
    assert results[-1]["status"] == "nonfinite"
    finals = []
    for hp, r in zip(TRIALS, results):
        state, losses = _alone(cfg, hp)
        logged = [row["loss"] for row in read_metrics(r["workdir"], "train")]
        np.testing.assert_allclose(logged, losses, rtol=2e-5, atol=1e-6)
        for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(r["state"].params)):
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=2e-5, atol=1e-6)
        assert r["status"] == "finished" and 0.0 <= r["last_eval"]["accuracy"] <= 1.0
        assert json.loads((r["workdir"] / "hyperparameters.json").read_text()) == hp
        finals.append(losses[-1])
    assert len(set(finals)) == len(TRIALS)  # the trials really differ
    # the logged learning rate is the trial's own rate on the cosine schedule
    lr = [row["learning_rate"] for row in read_metrics(results[0]["workdir"], "train")]
    np.testing.assert_allclose(lr[0], 3e-2, rtol=1e-6)
    assert lr[-1] < lr[0]


def test_trial_optimizer_matches_the_ordinary_one_when_nothing_is_swept():
    cfg = config("mlp_digits", "model.width=8", "optimizer.name=adamw", "optimizer.weight_decay=0.1")
    from lectarch.sweep.vmapped import trial_optimizer

    params = {"w": np.linspace(-1, 1, 6, dtype=np.float32)}
    grads = {"w": np.linspace(2, -3, 6, dtype=np.float32)}
    a, b = optimizer(cfg), trial_optimizer(cfg)
    ua, _ = a.update(grads, a.init(params), params)
    ub, _ = b.update(grads, b.init(params), params)
    np.testing.assert_allclose(ub["w"], ua["w"], rtol=1e-6)


def test_only_scalar_hyperparameters_can_be_vmapped():
    with pytest.raises(ConfigError, match="Optuna"):
        trial_config(_cfg(), {"model.width": 32})
