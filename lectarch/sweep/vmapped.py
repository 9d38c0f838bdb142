"""Vmapped sweeps: K trials that differ only in scalar hyperparameters, trained at once.

The K training states are stacked on a leading trial axis and one jit-compiled program runs
``jax.vmap(train_step)`` over it, on one device: for small models K trials cost little more than
one, because the device is otherwise mostly idle (launch-bound). Every scalar a trial may change
lives in the state, not in the program:

- ``learning_rate``, ``optimizer.weight_decay``, ``clip.global_norm``, ``clip.elementwise``: injected
  hyperparameters of the optimiser (``optax.inject_hyperparams``); the schedule's shape is shared
  and scales each trial's own rate, ``lr_t = learning_rate * schedule_t / schedule_0-rate``;
  a clipping threshold of 0 ("off") becomes +inf, which leaves gradients unchanged;
- ``init_scale``: the initial parameters are ``init_scale * theta_0`` (default 1);
- ``seed``: initial parameters, dropout keys and the order of the training batches.

Anything that changes a shape or the program (width, depth, optimizer name, batch size) needs the
Optuna sweep instead. Each trial logs its own run: ``<workdir>/trial_NNN/metrics.jsonl`` (and
TensorBoard), with its full config in ``config.json`` and ``hyperparameters.json``.
"""

import functools
import json
import math
import pathlib

import jax
import ml_collections
import numpy as np
import optax

from lectarch.config import ConfigError
from lectarch.data import build_dataset, pipeline
from lectarch.experiment import build_objective
from lectarch.sweep.space import check_vmapped_trials
from lectarch.train import memory
from lectarch.train.history import check_new_run
from lectarch.train.loop import evaluate, run_loop, write_rows
from lectarch.train.metrics import MetricsWriter
from lectarch.train.optim import chain, schedule, standard_promotion
from lectarch.train.state import TrainState, init_state
from lectarch.train.step import STEP_KINDS, make_eval_step, make_train_step, step_options

HYPERPARAMETERS = ("learning_rate", "optimizer.weight_decay", "clip.global_norm", "clip.elementwise",
                   "init_scale", "seed")


def trial_config(cfg: ml_collections.ConfigDict, hp: dict) -> ml_collections.ConfigDict:
    """``cfg`` with the trial's hyperparameters set (``init_scale`` is not a config key)."""
    unknown = sorted(set(hp) - set(HYPERPARAMETERS))
    if unknown:
        raise ConfigError(f"vmapped trials can differ only in {HYPERPARAMETERS}; got {unknown} "
                          "(shapes or programs that differ need the Optuna sweep)")
    c = ml_collections.ConfigDict(cfg.to_dict())
    for key, value in hp.items():
        if key == "init_scale":
            continue
        node, _, leaf = key.rpartition(".")
        target = c[node] if node else c
        target[leaf] = type(target[leaf])(value)
    return c


def _threshold(x: float) -> float:
    return float(x) if x > 0 else math.inf


def trial_optimizer(cfg: ml_collections.ConfigDict) -> optax.GradientTransformation:
    """``lectarch.train.optim.chain`` with every scalar in its state, then the shared schedule's shape.

    Same parts as ``optim.optimizer(cfg)``; a clip that is off (0) becomes a threshold of +inf and
    weight decay 0 adds nothing, so every trial runs the same program.
    """
    injected = optax.inject_hyperparams(functools.partial(chain, cfg.optimizer))(
        learning_rate=float(cfg.learning_rate), weight_decay=float(cfg.optimizer.weight_decay),
        global_norm=_threshold(cfg.clip.global_norm), elementwise=_threshold(cfg.clip.elementwise))
    return standard_promotion(optax.chain(injected, optax.scale_by_schedule(schedule(_unit_rate(cfg)))))


def _unit_rate(cfg: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``cfg`` at learning rate 1: its schedule is the shape each trial's own rate is scaled by."""
    unit = ml_collections.ConfigDict(cfg.to_dict())
    unit.learning_rate = 1.0
    return unit


def init_trials(cfg: ml_collections.ConfigDict, trials: list[dict], spec) -> tuple:
    """``(graphdef, state_K, tx)``: the K trials' states stacked on a leading trial axis."""
    graphdef, states, tx = None, [], None
    for hp in trials:
        c = trial_config(cfg, hp)
        tx_k = trial_optimizer(c)
        graphdef, state, _ = init_state(c, spec, tx_k)
        scale = float(hp.get("init_scale", 1.0))
        if scale != 1.0:
            params = jax.tree.map(lambda p: np.asarray(p) * np.float32(scale), state.params)
            ema = jax.tree.map(np.copy, params) if state.ema_params is not None else None
            state = state.replace(params=params, opt_state=tx_k.init(params), ema_params=ema)
        states.append(state)
        tx = tx if tx is not None else tx_k  # one program: every trial's numbers are in its state
    stacked = jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *states)  # on the host
    return graphdef, jax.device_put(stacked), tx


def effective_learning_rate(cfg: ml_collections.ConfigDict, state_K: TrainState) -> jax.Array:
    """Each trial's learning rate at its current step, ``learning_rate * schedule_t`` (shape K)."""
    lr_K = state_K.opt_state[0].hyperparams["learning_rate"]
    with jax.numpy_dtype_promotion("standard"):  # optax's schedules mix Python floats and int32 steps
        return lr_K * jax.vmap(schedule(_unit_rate(cfg)))(state_K.step)


def make_vmapped_steps(cfg: ml_collections.ConfigDict, graphdef, tx: optax.GradientTransformation, objective, *,
                       batch_per_trial: bool) -> dict:
    """``{kind: (state_K, batch) -> (state_K, metrics_K)}``: the trainer's lean and logging steps
    (``lectarch.train.step.step_options``), vmapped over the trial axis, one jit program each.

    ``batch`` has a leading trial axis when trials see different batches (different seeds). The
    metrics' ``learning_rate`` is each trial's own rate at its step (``effective_learning_rate``).
    """
    def with_rate(kind: str):
        step = make_train_step(graphdef, tx, objective, step_options(cfg, kind))
        vmapped = jax.vmap(step, in_axes=(0, 0 if batch_per_trial else None))

        def step_K(state_K, batch):
            lr_K = effective_learning_rate(cfg, state_K)
            state_K, metrics_K = vmapped(state_K, batch)
            return state_K, dict(metrics_K, learning_rate=lr_K)

        return jax.jit(step_K, donate_argnums=0)

    return {kind: with_rate(kind) for kind in STEP_KINDS}


def make_vmapped_eval(graphdef, objective):
    return jax.jit(jax.vmap(make_eval_step(graphdef, objective), in_axes=(0, None)))


def _batches(cfg, seeds, dataset):
    """Per step: one batch for all trials, or a stack of per-trial batches when seeds differ (a
    generated task's data depends on the seed too)."""
    unique = sorted(set(seeds))
    datasets = {s: dataset if s == cfg.seed else build_dataset(trial_config(cfg, {"seed": s})) for s in unique}
    streams = {s: pipeline.train_batches(datasets[s], batch_size=cfg.batch_size, seed=s) for s in unique}
    while True:
        got = {s: next(streams[s]) for s in unique}
        if len(unique) == 1:
            yield got[unique[0]]
        else:
            yield jax.tree.map(lambda *xs: np.stack(xs), *[got[s] for s in seeds])


def per_trial(metrics: dict, num_trials: int) -> list[dict]:
    """``{name: values_K}`` -> one ``{name: float}`` per trial."""
    return [{k: float(np.asarray(v)[i]) for k, v in metrics.items()} for i in range(num_trials)]


def train_vmapped(cfg: ml_collections.ConfigDict, trials: list[dict], workdir: str | pathlib.Path) -> list[dict]:
    """Train the K ``trials`` (dicts of hyperparameters) at once; each logs to ``workdir/trial_NNN``.

    The loop is the trainer's (``lectarch.train.loop.run_loop``): the same step boundaries, lean and
    logging steps, evaluation and metric rows, with the trial axis as its parameter.
    """
    check_vmapped_trials(trials, lambda overrides: None)  # numbers only, before anything is built
    workdir = pathlib.Path(workdir).absolute()
    seeds = [int(hp.get("seed", cfg.seed)) for hp in trials]
    dataset = build_dataset(cfg)  # evaluation is on the config's own dataset, as before for every trial
    memory.check_batch_sizes({"VMAPPED trials x config.batch_size": len(trials) * cfg.batch_size},
                             dataset.train[0])
    for k in range(len(trials)):  # a trial does not resume: never over an earlier run's rows
        check_new_run(workdir / f"trial_{k:03d}", "the vmapped sweep")
    graphdef, state_K, tx = init_trials(cfg, trials, dataset.spec)
    objective = build_objective(cfg)
    steps = make_vmapped_steps(cfg, graphdef, tx, objective, batch_per_trial=len(set(seeds)) > 1)
    eval_K = make_vmapped_eval(graphdef, objective)
    writers = []
    for k, hp in enumerate(trials):
        d = workdir / f"trial_{k:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "config.json").write_text(trial_config(cfg, hp).to_json(indent=2) + "\n")
        (d / "hyperparameters.json").write_text(json.dumps(hp, indent=2) + "\n")
        writers.append(MetricsWriter(d))
    last_eval = [{} for _ in trials]

    def on_eval(step: int, state_K) -> None:
        metrics = evaluate(eval_K, None, state_K, dataset, cfg.eval_batch_size, place=lambda b: b)
        write_rows(writers, step, "eval", metrics)
        last_eval[:] = per_trial(metrics, len(trials))

    try:
        end = run_loop(cfg, state_K, 0, _batches(cfg, seeds, dataset), steps, writers=writers,
                       on_eval=on_eval)
    finally:
        for w in writers:
            w.close()
    state_K = end.state
    nonfinite = np.asarray(jax.device_get(state_K.nonfinite_step))
    return [{"trial": k, "hyperparameters": hp, "workdir": workdir / f"trial_{k:03d}", "step": end.step,
             "status": "nonfinite" if nonfinite[k] >= 0 else "finished", "last_eval": last_eval[k],
             "state": jax.tree.map(lambda x, k=k: x[k], state_K)}
            for k, hp in enumerate(trials)]


__all__ = ["HYPERPARAMETERS", "effective_learning_rate", "init_trials", "make_vmapped_eval", "make_vmapped_steps",
           "per_trial", "train_vmapped", "trial_config", "trial_optimizer"]
