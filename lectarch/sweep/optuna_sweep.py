"""Optuna sweeps: each trial is a full ``lectarch train`` run in its own sub-workdir.

The study lives in a storage (``lectarch.sweep.storage``): SQLite in the workdir by default
(nothing to start), a database URL (``postgresql://...``) or a journal file (``journal:PATH``)
shared by workers on many machines, which then add their trials to the same study. The outcome
of every trial is stored with it:

- COMPLETE: the final eval metric (``METRIC`` of the space file) is the objective value;
- PRUNED: the pruner (``--pruner median``; a grid prunes only when asked) stopped it on an
  intermediate eval metric (``pruned_at_step``);
- FAIL: ``failure`` says why: a non-finite loss, an exception (traceback in ``<trial>/error.txt``),
  or a killed worker. A trial left RUNNING by a killed worker on this host is marked failed by the
  next trial any worker on this host starts; one on another host once its heartbeat is older
  than ``GRACE_S`` (database storages). A killed or interrupted trial is retried with the same
  parameters (the same grid point) in the same sub-workdir, so it resumes from its last
  checkpoint. The sweep goes on after a failure.

Running the same command again resumes the study: finished trials are kept and not repeated, and
``--trials N`` counts the trials the study holds in all, not the trials of this run.

Before any trial runs, the space file's values for one trial are checked against the config
(``lectarch.sweep.space.check_space``) and the storage is opened (a storage that cannot be used is
one line, exit 2). Only Optuna's public API is used: a killed worker's trial is failed with
``Study.tell`` and the reason is kept on the retry that replaces it (``retry_reason``).
"""

import dataclasses
import logging
import os
import pathlib
import socket
import sys
import traceback
import warnings

import numpy as np
import optuna

from lectarch.config import ConfigError
from lectarch.experiment import load_config
from lectarch.sweep.space import Space, as_overrides, check_space, load_space
from lectarch.train.workdir import WorkdirLocked, pid_alive
from lectarch.sweep.storage import GRACE_S, HEARTBEAT_S, default_storage, reported
from lectarch.sweep.storage import check_storage_folder, make_storage as _make_storage

PRUNERS = ("none", "median")
_ALWAYS = ("progress=false",)  # no progress bars from trials in the sweep's log


class TrialFailed(Exception):
    """A trial that ran but produced no usable objective (its reason is in ``failure``)."""


@dataclasses.dataclass
class SweepResult:
    study: optuna.Study
    status: str  # "finished" | "interrupted"
    csv: pathlib.Path | None = None
    plots: list[pathlib.Path] = dataclasses.field(default_factory=list)


def make_storage(url: str, *, heartbeat_s: int = HEARTBEAT_S, grace_s: int = GRACE_S) -> optuna.storages.BaseStorage:
    """The study storage named by ``url``; a database's stale trials are retried (``_retry_stale_trial``)."""
    return _make_storage(url, heartbeat_s=heartbeat_s, grace_s=grace_s, stale_trial_callback=_retry_stale_trial)


def make_sampler(name: str, space: Space, seed: int | None = None) -> optuna.samplers.BaseSampler:
    if name == "grid":
        if not space.grid:
            raise ConfigError(f"{space.path}: the grid sampler needs GRID = {{name: [values, ...]}}")
        return optuna.samplers.GridSampler(space.grid, seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    raise ConfigError(f"unknown sampler {name!r}: grid, random or tpe")


def make_pruner(space: Space, name: str | None = None, sampler: str = "tpe") -> optuna.pruners.BasePruner:
    """``name`` (``--pruner``) if given, else the space file's PRUNER, else none for a grid (whose
    points are all wanted) and the median pruner for the other samplers."""
    if name is None and space.pruner != "default":
        return space.pruner if space.pruner is not None else optuna.pruners.NopPruner()
    if name is None:
        name = "none" if sampler == "grid" else "median"
    if name not in PRUNERS:
        raise ConfigError(f"unknown pruner {name!r}: {' or '.join(PRUNERS)}")
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)
    return optuna.pruners.NopPruner()


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _retry(study: optuna.Study, trial: optuna.trial.FrozenTrial, reason: str) -> None:
    """Queue the same parameters again, in the same sub-workdir (so training resumes)."""
    attrs = {k: v for k, v in trial.user_attrs.items() if k in ("workdir", "overrides")}
    grid = {k: v for k, v in trial.system_attrs.items() if k in ("grid_id", "search_space")}  # the same grid point
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.WAITING,
                                              system_attrs={"fixed_params": trial.params, **grid},
                                              user_attrs=dict(attrs, retry_of=trial.number, retry_reason=reason)))


def _retry_stale_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Optuna's heartbeat check failed ``trial`` (its worker stopped reporting): retry it."""
    _retry(study, trial, "no heartbeat")


def fail_killed_trials(study: optuna.Study, storage: optuna.storages.BaseStorage) -> list[int]:
    """RUNNING trials whose worker process on this host is gone: mark them failed, retry them.

    ``storage`` is the study's: the trials are told through a view of the study with a random
    sampler, whose ``after_trial`` does nothing (a grid sampler's would stop the study)."""
    host, failed = socket.gethostname(), []
    teller = None
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        worker = t.user_attrs.get("worker", "")
        worker_host, _, pid = worker.rpartition(":")
        if worker_host != host or not pid.isdigit() or pid_alive(int(pid)):
            continue
        reason = f"killed: worker {worker} stopped while the trial was running"
        if teller is None:
            teller = optuna.load_study(study_name=study.study_name, storage=storage,
                                       sampler=optuna.samplers.RandomSampler())
        try:  # the reason is kept on the retry (its retry_reason; lectarch.sweep.results.failure_reason)
            teller.tell(t.number, state=optuna.trial.TrialState.FAIL)
        except (ValueError, optuna.exceptions.UpdateFinishedTrialError):
            continue  # another worker got there first
        _retry(study, t, reason)
        failed.append(t.number)
    return failed


def grid_points_left(study: optuna.Study, size: int) -> bool:
    """Whether a grid point has no trial yet (finished or running) and none is queued."""
    trials = study.get_trials(deepcopy=False)
    if any(t.state == optuna.trial.TrialState.WAITING for t in trials):
        return True
    taken = {t.system_attrs.get("grid_id") for t in trials}
    return bool(set(range(size)) - taken)


def counted_trials(study: optuna.Study) -> int:
    """Trials that reached an outcome, not counting those replaced by a retry."""
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of", t.system_attrs.get("failed_trial")) for t in trials}
    done = [t for t in trials if t.state.is_finished() and t.number not in retried]
    return len(done)


class TrialRunner:
    """Optuna's objective function (not a training objective): one trial =
    ``train(load_config(config, overrides + space(trial)), workdir/trials/NNNN)``."""

    def __init__(self, config: str | pathlib.Path, space: Space, workdir: pathlib.Path, overrides: list[str]):
        self.config, self.space, self.workdir, self.overrides = config, space, workdir, list(overrides)

    def _report(self, trial: optuna.Trial):
        metric = self.space.metric

        def on_eval(step: int, metrics: dict) -> None:
            if metric not in metrics:
                return
            trial.report(float(metrics[metric]), step)
            if trial.should_prune():
                trial.set_user_attr("pruned_at_step", step)
                raise optuna.TrialPruned(f"pruned at step {step}: {metric}={metrics[metric]:.4g}")

        return on_eval

    def __call__(self, trial: optuna.Trial) -> float:
        from lectarch.experiment import train

        trial.set_user_attr("worker", _worker_id())
        workdir = pathlib.Path(trial.user_attrs.get("workdir") or self.workdir / "trials" / f"{trial.number:04d}")
        trial.set_user_attr("workdir", str(workdir))
        values = self.space.space(trial)
        trial.set_user_attr("overrides", {k: (v.item() if hasattr(v, "item") else v) for k, v in values.items()})
        try:
            cfg = load_config(self.config, [*_ALWAYS, *self.overrides, *as_overrides(values)])
            result = train(cfg, workdir, on_eval=self._report(trial))
        except (optuna.TrialPruned, KeyboardInterrupt, WorkdirLocked):
            raise  # a locked workdir: another worker trains there; stop this one, change nothing
        except Exception as e:  # noqa: BLE001 - any error fails this trial, not the sweep
            workdir.mkdir(parents=True, exist_ok=True)
            (workdir / "error.txt").write_text(traceback.format_exc())
            reason = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
            trial.set_user_attr("failure", reason)
            print(f"trial {trial.number} failed: {reason} (traceback in {workdir / 'error.txt'})", file=sys.stderr)
            raise TrialFailed(reason) from e
        trial.set_user_attr("step", result.step)
        if result.status == "interrupted":
            trial.set_user_attr("failure", f"interrupted at step {result.step}: {result.message.split(':')[0]}")
            _retry(trial.study, _frozen(trial), "interrupted")
            raise KeyboardInterrupt(result.message)
        if result.status == "nonfinite":
            trial.set_user_attr("failure", result.message)
            raise TrialFailed(result.message)
        if self.space.metric not in result.last_eval:
            reason = f"metric {self.space.metric!r} not in the eval metrics {sorted(result.last_eval)}"
            trial.set_user_attr("failure", reason)
            raise TrialFailed(reason)
        return float(result.last_eval[self.space.metric])


def _frozen(trial: optuna.Trial) -> optuna.trial.FrozenTrial:
    """The stored record of the running ``trial`` (its parameters and attributes so far)."""
    return next(t for t in trial.study.get_trials(deepcopy=False) if t.number == trial.number)


class _NoTraceback(logging.Filter):
    """Optuna logs a failed trial with its traceback; a locked workdir and a failed trial (whose
    reason is printed in one line, its traceback kept in ``<trial>/error.txt``) need only a line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], (WorkdirLocked, TrialFailed)):
            record.exc_info, record.exc_text = None, None
        return True


def _quiet_workdir_locked() -> None:
    for handler in logging.getLogger("optuna").handlers:
        if not any(isinstance(f, _NoTraceback) for f in handler.filters):
            handler.addFilter(_NoTraceback())


def run_sweep(config: str | pathlib.Path, space_path: str | pathlib.Path, workdir: str | pathlib.Path, *,
              trials: int | None = None, storage: str | None = None, sampler: str | None = None,
              study_name: str | None = None, seed: int | None = None, overrides: list[str] = (),
              pruner: str | None = None, results: bool = True) -> SweepResult:
    """Run (or resume, or join) the sweep until the study holds ``trials`` finished trials."""
    from lectarch.sweep.results import write_results

    workdir = pathlib.Path(workdir).absolute()
    if storage is not None:
        check_storage_folder(storage, workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    space = load_space(space_path)
    base = load_config(config, [*_ALWAYS, *overrides])  # a bad config fails here, not once per trial
    sampler_name = sampler or space.sampler
    n = trials if trials is not None else (space.grid_size if sampler_name == "grid" else space.trials)
    if n is None:
        raise ConfigError(f"how many trials? give --trials N or TRIALS = N in {space.path}")
    # the space's values for one trial, on a scratch study: a bad space file fails here, not per trial
    check_space(space, make_sampler(sampler_name, space, 0), base,
                lambda values: load_config(config, [*_ALWAYS, *overrides, *values]))
    name = study_name or f"{experiment_name(config)}-{pathlib.Path(space_path).stem}"
    url = storage or default_storage(workdir)
    db = make_storage(url)
    with reported(url, journal_reads=True):
        known = len(optuna.create_study(study_name=name, storage=db, direction=space.direction,
                                        load_if_exists=True).get_trials(deepcopy=False))
        # A resumed sweep must not draw its first points again: the seed moves on with the study.
        seed = None if seed is None else int(np.random.SeedSequence([seed, known]).generate_state(1)[0])
        study = optuna.load_study(study_name=name, storage=db, sampler=make_sampler(sampler_name, space, seed),
                                  pruner=make_pruner(space, pruner, sampler_name))
        study.set_user_attr("metric", space.metric)
        with warnings.catch_warnings():  # experimental since Optuna 3.2 (5.0.0 pinned): a tested call
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([space.metric])  # optuna-dashboard and the plots name it
    run_trial = TrialRunner(config, space, workdir, list(overrides))
    _quiet_workdir_locked()
    status = "finished"
    try:
        with reported(url):
            while counted_trials(study) < n:
                for number in fail_killed_trials(study, db):
                    print(f"trial {number}: its worker was killed; marked failed and queued again", file=sys.stderr)
                if sampler_name == "grid" and not grid_points_left(study, space.grid_size):
                    break  # every point is done or being trained by another worker
                study.optimize(run_trial, n_trials=1, catch=(TrialFailed,), gc_after_trial=True)
    except KeyboardInterrupt:
        status = "interrupted"
        print(f"sweep interrupted: run the same command again to resume study {name!r}", file=sys.stderr)
    out = SweepResult(study=study, status=status)
    if results:
        out.csv, out.plots = write_results(study, workdir, space.metric)
    return out


def experiment_name(config: str | pathlib.Path) -> str:
    """What a study is named after: the experiment file's stem, or for a run's ``RUN/config.json``
    the run's folder (``runs/mlp_digits/config.json`` -> ``mlp_digits``)."""
    path = pathlib.Path(config).absolute()
    return path.parent.name if path.suffix == ".json" and path.parent.name else path.stem


def first_failure(study: optuna.Study) -> str | None:
    """``trial N: reason`` of the study's first failed trial (``None``: none failed)."""
    from lectarch.sweep.results import failure_reason

    trials = study.get_trials(deepcopy=False)
    for t in trials:
        if t.state == optuna.trial.TrialState.FAIL:
            return f"trial {t.number}: {failure_reason(t, trials)}"
    return None


__all__ = ["GRACE_S", "HEARTBEAT_S", "PRUNERS", "SweepResult", "TrialFailed", "TrialRunner", "counted_trials",
           "default_storage", "experiment_name", "fail_killed_trials", "first_failure", "grid_points_left",
           "make_pruner", "make_sampler", "make_storage", "run_sweep"]
