"""Sweep workers on one shared storage (PostgreSQL server, journal file, SQLite): three
``lectarch sweep`` processes fill one grid, one is killed mid-trial, and its trial is retried
by the others; every grid point completes exactly once; trials.csv agrees with the study."""

import csv
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import optuna
import pytest

from lectarch.sweep.optuna_sweep import counted_trials, make_storage
from tests.helpers import REPO, cli_env
from tests.sweep.postgres_server import postgres_server

CONFIG = os.path.join(REPO, "experiments", "configs", "mlp_digits.py")
LEARNING_RATES = [0.002, 0.005, 0.01, 0.02]
# Long enough (a few seconds) to be killed in the middle, with checkpoints to resume from.
TRIAL = ["num_steps=120", "batch_size=16", "eval_batch_size=360", "eval_every=120", "log_every=40",
         "checkpoint_every=20", "model.width=8"]


def _wait_for(what: str, check, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (found := check()) is not None:
            return found
        time.sleep(0.2)
    raise TimeoutError(f"no {what} within {timeout_s}s")


def _checkpointed(trial) -> bool:
    ckpts = os.path.join(trial.user_attrs.get("workdir", "/nonexistent"), "checkpoints")
    return os.path.isdir(ckpts) and any(name.isdigit() for name in os.listdir(ckpts))


def _sweep_with_a_killed_worker(storage: str, tmp_path):
    space = tmp_path / "space.py"
    space.write_text(textwrap.dedent(f"""
        GRID = {{"learning_rate": {LEARNING_RATES!r}}}

        def space(trial):
            return {{"learning_rate": trial.suggest_float("learning_rate", 1e-4, 1.0, log=True)}}
    """))
    workdir = tmp_path / "sweep"  # shared by the workers, as on a shared file system
    cmd = [sys.executable, "-m", "lectarch", "sweep", "--config", CONFIG, "--space", str(space), "--workdir",
           str(workdir), "--storage", storage, "--study-name", "shared", "--sampler", "grid",
           *[f"--config.{o}" for o in TRIAL]]
    workers = [subprocess.Popen(cmd, cwd=REPO, env=cli_env(1), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(3)]
    try:
        victim = f"{socket.gethostname()}:{workers[0].pid}"

        polled = []  # one storage for every poll: each new one would hold its own database connections

        def victim_mid_trial():
            if not polled:
                polled.append(make_storage(storage))
            try:
                study = optuna.load_study(study_name="shared", storage=polled[0])
            except KeyError:  # the study is not created yet
                return None
            running = [t for t in study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
                       if t.user_attrs.get("worker") == victim and _checkpointed(t)]
            return running[0] if running else None

        try:
            killed = _wait_for("trial of the first worker with a checkpoint", victim_mid_trial, timeout_s=240)
        except TimeoutError as e:
            for w in workers:
                w.kill()
            tails = [w.communicate()[1][-1500:] for w in workers]
            raise AssertionError(f"{e}; the workers' stderr ends:\n" + "\n---\n".join(tails)) from None
        workers[0].send_signal(signal.SIGKILL)
        for w in workers[1:]:
            out, err = w.communicate(timeout=400)
            assert w.returncode == 0, err
        assert workers[0].wait(timeout=30) == -signal.SIGKILL
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.communicate()

    study = optuna.load_study(study_name="shared", storage=make_storage(storage))
    trials = {t.number: t for t in study.get_trials()}
    killed = trials[killed.number]
    assert killed.state == optuna.trial.TrialState.FAIL and killed.user_attrs["failure"].startswith("killed")
    (retry,) = [t for t in trials.values() if t.user_attrs.get("retry_of") == killed.number]
    assert retry.state == optuna.trial.TrialState.COMPLETE and retry.params == killed.params
    assert retry.user_attrs["workdir"] == killed.user_attrs["workdir"]  # resumed from its checkpoint

    complete = [t for t in trials.values() if t.state == optuna.trial.TrialState.COMPLETE]
    assert sorted(t.params["learning_rate"] for t in complete) == LEARNING_RATES  # each point exactly once
    assert len(trials) == len(LEARNING_RATES) + 1 and counted_trials(study) == len(LEARNING_RATES)

    with (workdir / "trials.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert sorted(int(r["number"]) for r in rows) == sorted(trials)
    done = [r for r in rows if r["state"] == "COMPLETE"]
    best_row = max(done, key=lambda r: float(r["accuracy"]))
    assert int(best_row["number"]) == study.best_trial.number
    assert float(best_row["accuracy"]) == study.best_value


@pytest.mark.slow
def test_workers_on_a_postgresql_server(tmp_path):
    with postgres_server() as url:
        _sweep_with_a_killed_worker(url, tmp_path)


@pytest.mark.slow
def test_workers_on_a_journal_file(tmp_path):
    _sweep_with_a_killed_worker(f"journal:{tmp_path / 'study.journal'}", tmp_path)


@pytest.mark.slow
def test_workers_on_sqlite(tmp_path):
    _sweep_with_a_killed_worker(f"sqlite:///{tmp_path / 'study.db'}", tmp_path)
