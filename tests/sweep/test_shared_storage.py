"""Sweep workers on one shared storage (PostgreSQL server, journal file, SQLite): two
``lectarch sweep`` processes fill one grid, one is killed mid-trial, and its trial is retried
by the other; every grid point completes exactly once; trials.csv agrees with the study.
(Workers racing for the same trials: tests/sweep/test_optuna_sweep.py.)"""

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
from lectarch.sweep.results import failure_reason
from tests.helpers import REPO, cli_env, flags
from tests.sweep.postgres_server import postgres_server

CONFIG = os.path.join(REPO, "experiments", "configs", "mlp_digits.py")
LEARNING_RATES = [0.002, 0.005, 0.01, 0.02]
# Short trials: a checkpoint at step 2, so a trial has one to resume from when its worker stops at
# the eval of step 4 (see STALL below), and one eval, at the end (no pictures: nothing here reads them).
TRIAL = ["num_steps=4", "batch_size=16", "eval_batch_size=360", "eval_every=4", "log_every=2",
         "checkpoint_every=2", "model.width=8", "pictures=false"]
# The first worker's trial waits at its eval of step 4 (in the space file's pruner) until it is
# killed, so the kill lands in the middle of a trial that has a checkpoint, however fast or slow
# the machine; the other workers run as usual.
STALL = "STALL_AT_EVAL_STEP"


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
        import os, time
        import optuna

        GRID = {{"learning_rate": {LEARNING_RATES!r}}}

        class StallInOneWorker(optuna.pruners.BasePruner):
            def prune(self, study, trial):
                if os.environ.get({STALL!r}) and trial.last_step >= int(os.environ[{STALL!r}]):
                    time.sleep(3600)  # until this worker is killed
                return False

        PRUNER = StallInOneWorker()

        def space(trial):
            return {{"learning_rate": trial.suggest_float("learning_rate", 1e-4, 1.0, log=True)}}
    """))
    workdir = tmp_path / "sweep"  # shared by the workers, as on a shared file system
    cmd = [sys.executable, "-m", "lectarch", "sweep", "--config", CONFIG, "--space", str(space), "--workdir",
           str(workdir), "--storage", storage, "--study-name", "shared", "--sampler", "grid",
           *flags(TRIAL)]

    def start(env):
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    workers = [start(dict(cli_env(1), **{STALL: "4"}))]  # the victim first, so it surely gets a trial
    try:
        victim = f"{socket.gethostname()}:{workers[0].pid}"
        polled = []  # one storage for every poll: each new one would hold its own database connections

        def trials_of(worker=None, checkpointed=False):
            if not polled:
                polled.append(make_storage(storage))
            try:
                study = optuna.load_study(study_name="shared", storage=polled[0])
            except KeyError:  # the study is not created yet
                return None
            found = [t for t in study.get_trials() if (worker is None or t.user_attrs.get("worker") == worker)
                     and (not checkpointed or t.state == optuna.trial.TrialState.RUNNING and _checkpointed(t))]
            return found or None

        def fail(e):
            for w in workers:
                w.kill()
            tails = [w.communicate()[1][-1500:] for w in workers]
            raise AssertionError(f"{e}; the workers' stderr ends:\n" + "\n---\n".join(tails)) from None

        try:
            (killed,) = _wait_for("stalled trial of the first worker with a checkpoint",
                                  lambda: trials_of(victim, checkpointed=True), timeout_s=300)
            workers.append(start(cli_env(1)))
            others = [f"{socket.gethostname()}:{w.pid}" for w in workers[1:]]
            # the other is at work (a trial started) while the first worker still holds its trial
            _wait_for("trial of another worker", lambda: [t for o in others for t in trials_of(o) or []] or None,
                      timeout_s=300)
        except TimeoutError as e:
            fail(e)
        workers[0].send_signal(signal.SIGKILL)
        errs = []
        for w in workers[1:]:
            out, err = w.communicate(timeout=600)
            assert w.returncode == 0, err
            errs.append(err)
        assert workers[0].wait(timeout=30) == -signal.SIGKILL
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.communicate()

    study = optuna.load_study(study_name="shared", storage=make_storage(storage))
    trials = {t.number: t for t in study.get_trials()}
    killed = trials[killed.number]
    assert killed.state == optuna.trial.TrialState.FAIL
    assert failure_reason(killed, list(trials.values())).startswith("killed: worker")  # not a lost heartbeat
    (retry,) = [t for t in trials.values() if t.user_attrs.get("retry_of") == killed.number]
    assert retry.state == optuna.trial.TrialState.COMPLETE and retry.params == killed.params
    assert retry.user_attrs["workdir"] == killed.user_attrs["workdir"]  # resumed from its checkpoint
    assert f"Resuming from step 2 ({os.path.join(retry.user_attrs['workdir'], 'checkpoints')})" in "".join(errs)

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
