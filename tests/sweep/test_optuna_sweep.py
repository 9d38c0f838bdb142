"""Optuna sweeps: failures are recorded and the sweep goes on; a killed sweep resumes without
repeating finished trials; pruning stops a run on its intermediate eval metric; results on disk."""

import argparse
import csv
import os
import socket
import subprocess
import sys
import textwrap

import optuna
import pytest

from lectarch.cli import sweep as sweep_command
from lectarch.config import ConfigError
from lectarch.sweep.optuna_sweep import counted_trials, default_storage, make_storage, run_sweep
from lectarch.train.metrics import read_metrics
from tests.helpers import LEAN, REPO, flags

CONFIG = os.path.join(REPO, "experiments", "configs", "mlp_digits.py")
TINY = ["num_steps=3", "batch_size=16", "eval_batch_size=360", "eval_every=3", "log_every=3",
        "checkpoint_every=3", "model.width=8", *LEAN]


def _space(tmp_path, body: str):
    path = tmp_path / "space.py"
    path.write_text(textwrap.dedent(body))
    return path


def _rows(workdir):
    with (workdir / "trials.csv").open() as f:
        return list(csv.DictReader(f))


def test_failed_trials_are_recorded_with_their_reason_and_the_grid_goes_on(tmp_path):
    space = _space(tmp_path, """
        GRID = {"learning_rate": [1e30], "model.width": [8, -1]}

        def space(trial):
            return {"learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e31, log=True),
                    "model.width": trial.suggest_categorical("model.width", [8, -1])}
    """)
    result = run_sweep(CONFIG, space, tmp_path / "sweep", sampler="grid", seed=0, overrides=TINY)
    rows = {int(r["model.width"]): r for r in _rows(tmp_path / "sweep")}
    assert len(rows) == 2 and result.status == "finished"  # every grid point once, then it stops
    assert rows[8]["state"] == "FAIL" and rows[8]["failure"].startswith("non-finite loss or gradient at step")
    # a width the config rules reject: an exception inside the trial, with its traceback on disk
    assert rows[-1]["state"] == "FAIL" and rows[-1]["failure"].startswith("ConfigError: config.model.width=-1")
    assert "ConfigError" in (tmp_path / "sweep" / "trials" / f"{int(rows[-1]['number']):04d}" / "error.txt").read_text()


def test_pruned_on_intermediate_eval_metric(tmp_path):
    space = _space(tmp_path, """
        import optuna
        PRUNER = optuna.pruners.ThresholdPruner(lower=0.999)  # nothing this small reaches it

        def space(trial):
            return {"learning_rate": trial.suggest_float("learning_rate", 1e-3, 1e-2)}
    """)
    run_sweep(CONFIG, space, tmp_path / "sweep", trials=1, sampler="random", seed=0,
              overrides=[*TINY, "num_steps=4", "eval_every=1"])
    (row,) = _rows(tmp_path / "sweep")
    assert row["state"] == "PRUNED" and row["pruned_at_step"] == "1"
    evals = read_metrics(row["workdir"], "eval")
    assert [r["step"] for r in evals] == [1]  # the run stopped at its first eval, not at step 4


def _killed_worker(storage_url: str, study_name: str, trial_workdir) -> int:
    """A real process that starts a trial the way a sweep worker does and is killed with SIGKILL.

    It opens the storage with ``lectarch.sweep.storage.make_storage`` (the sweep's heartbeat settings,
    without importing JAX): the stale-trial callback that the sweep's ``make_storage`` adds runs only
    inside ``Study.optimize``, which this process never reaches."""
    code = textwrap.dedent(f"""
        import os, socket, sys, optuna
        from lectarch.sweep.storage import make_storage
        study = optuna.load_study(study_name={study_name!r}, storage=make_storage({storage_url!r}))
        study.enqueue_trial({{"learning_rate": 0.3}})  # far from trial 0's, so fANOVA sees a difference
        trial = study.ask()
        trial.suggest_float("learning_rate", 1e-3, 1.0)
        trial.set_user_attr("worker", f"{{socket.gethostname()}}:{{os.getpid()}}")
        trial.set_user_attr("workdir", {str(trial_workdir)!r})
        print("running", flush=True)
        sys.stdin.read()
    """)
    p = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "running"
    p.kill()
    p.wait()
    return p.pid


def test_killed_and_interrupted_sweeps_resume_without_repeating_finished_trials(tmp_path):
    arm = tmp_path / "send_sigterm"
    # A pruner that never prunes, but once armed sends this process SIGTERM at the next eval, as
    # `kill` or a cluster's preemption would: the trial must stop with a checkpoint and resume later.
    space = _space(tmp_path, f"""
        import os, pathlib, signal, optuna

        class SigtermOnce(optuna.pruners.BasePruner):
            def prune(self, study, trial):
                if pathlib.Path({str(arm)!r}).exists():
                    pathlib.Path({str(arm)!r}).unlink()
                    os.kill(os.getpid(), signal.SIGTERM)
                return False

        PRUNER = SigtermOnce()

        def space(trial):
            return {{"learning_rate": trial.suggest_float("learning_rate", 1e-3, 1.0)}}
    """)
    workdir = tmp_path / "sweep"
    args = argparse.Namespace(config=CONFIG, space=str(space), workdir=str(workdir), trials=1, storage=None,
                              sampler="random", study_name="s", seed=0, vmapped=False, pruner=None)
    tiny = [*TINY, "eval_every=1"]
    assert sweep_command.run(args, tiny) == 0  # `lectarch sweep ... --trials 1`
    first = _rows(workdir)
    assert [r["state"] for r in first] == ["COMPLETE"]
    metrics_0 = (workdir / "trials" / "0000" / "metrics.jsonl").read_text()

    pid = _killed_worker(default_storage(workdir), "s", workdir / "trials" / "0001")  # leaves trial 1 RUNNING

    args.trials = 2
    arm.touch()
    assert sweep_command.run(args, tiny) == 130  # the same command, asking for 2 trials; SIGTERM at step 1
    assert sweep_command.run(args, tiny) == 0  # and once more: the sweep finishes

    study = optuna.load_study(study_name="s", storage=make_storage(default_storage(workdir)))
    trials = study.get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "FAIL", "COMPLETE"]
    from lectarch.sweep.results import failure_reason

    assert failure_reason(trials[1], trials) == f"killed: worker {socket.gethostname()}:{pid} stopped while the trial was running"
    assert trials[2].user_attrs["failure"].startswith("interrupted at step 1: SIGTERM")
    for retry, of in ((2, 1), (3, 2)):  # each retry: same parameters, same sub-workdir
        assert trials[retry].user_attrs["retry_of"] == of and trials[retry].params == trials[1].params
        assert trials[retry].user_attrs["workdir"] == str(workdir / "trials" / "0001")
    assert [r["step"] for r in read_metrics(workdir / "trials" / "0001", "eval")] == [1, 2, 3]  # resumed at 1
    assert trials[0].value == float(first[0]["accuracy"])  # trial 0 was not run again
    assert (workdir / "trials" / "0000" / "metrics.jsonl").read_text() == metrics_0
    assert counted_trials(study) == 2

    rows = _rows(workdir)
    assert [r["state"] for r in rows] == ["COMPLETE", "FAIL", "FAIL", "COMPLETE"]
    assert rows[1]["failure"].startswith("killed") and rows[2]["failure"].startswith("interrupted")
    for name in ("optimization_history", "param_importances", "parallel_coordinate"):
        png = (workdir / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_grid_without_grid_is_a_config_error(tmp_path):
    space = _space(tmp_path, "def space(trial):\n    return {}\n")
    with pytest.raises(ConfigError, match="GRID"):
        run_sweep(CONFIG, space, tmp_path / "sweep", sampler="grid", overrides=TINY)


def test_trial_of_a_worker_that_stopped_sending_heartbeats_is_failed_and_retried(tmp_path):
    import time

    from lectarch.sweep.results import failure_reason

    storage = make_storage(default_storage(tmp_path), heartbeat_s=1, grace_s=1)
    study = optuna.create_study(study_name="s", storage=storage)
    trial = study.ask()  # a worker on another machine starts a trial ...
    trial.suggest_float("learning_rate", 1e-3, 1e-2)
    trial.set_user_attr("workdir", str(tmp_path / "trials" / "0000"))
    storage.record_heartbeat(trial._trial_id)
    time.sleep(2.5)  # ... and goes silent for longer than the grace period
    optuna.storages.fail_stale_trials(study)  # what every worker does before its next trial
    stale, retry = study.get_trials()
    assert stale.state.name == "FAIL" and failure_reason(stale).startswith("worker stopped reporting")
    assert retry.state.name == "WAITING" and retry.user_attrs["retry_of"] == 0
    assert retry.system_attrs["fixed_params"] == stale.params and retry.user_attrs["workdir"] == str(tmp_path / "trials" / "0000")
    assert counted_trials(study) == 0  # the retry replaces it


def test_workers_sharing_one_storage_url_add_trials_to_one_study(tmp_path):
    """Two `lectarch sweep` workers with the same --storage (as on two machines) fill one study: one in
    a process of its own, the other in this process (a second new process would only start JAX again)."""
    import time

    from tests.faults.common import run_cli
    from tests.helpers import cli_env

    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    space = _space(tmp_path, """
        PRUNER = None  # every trial runs to the end, so the count below is exact

        def space(trial):
            return {"learning_rate": trial.suggest_float("learning_rate", 1e-3, 1e-1, log=True)}
    """)
    argv = ["sweep", "--config", CONFIG, "--space", str(space), "--storage", storage, "--study-name", "shared",
            "--trials", "4", "--sampler", "random", *flags(TINY)]
    # (this process's XLA flags, 8 devices of which the trials use one: the two share compiled programs)
    other = subprocess.Popen([sys.executable, "-m", "lectarch", *argv, "--workdir", str(tmp_path / "machine1")],
                             cwd=REPO, env=cli_env(8), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # This worker joins once the other one trains its first trial, so that both work on the study
        # at once (started together, this one would finish the study before the other's JAX is up).
        trials_dir, deadline = tmp_path / "machine1" / "trials", time.monotonic() + 300
        while other.poll() is None and not (trials_dir.is_dir() and any(trials_dir.iterdir())):
            assert time.monotonic() < deadline, "the other worker started no trial in 300 s"
            time.sleep(0.02)
        code, _, err = run_cli(*argv, "--workdir", str(tmp_path / "machine0"))
        _, other_err = other.communicate(timeout=300)
    finally:
        other.kill()
    assert code == 0, err
    assert other.returncode == 0, other_err
    study = optuna.load_study(study_name="shared", storage=storage)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    states = [(t.number, t.state.name, t.user_attrs.get("failure"), t.user_attrs.get("worker")) for t in study.trials]
    assert len(done) >= 4 and len({t.number for t in done}) == len(done), states
    assert len({t.params["learning_rate"] for t in done}) == len(done)
