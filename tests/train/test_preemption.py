"""lectarch.train.preemption.StopRequest: a signal to one process stops every process after the
same step; before training starts, and on a second signal, a signal acts at once."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from lectarch.train.preemption import StopRequest
from tests.helpers import REPO, cli_env
from tests.shared_runs import shared_folder


def test_one_process_stops_at_the_next_step_boundary_and_restores_the_handlers():
    before = signal.getsignal(signal.SIGTERM)
    with StopRequest(multihost=False) as stop:
        assert signal.getsignal(signal.SIGTERM) is before  # nothing installed before the first step
        assert stop.requested(0) is False
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested(1) is True and stop.signal_name == "SIGTERM"
        assert signal.getsignal(signal.SIGTERM) is before  # a second SIGTERM acts at once
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_second_ctrl_c_raises_at_once():
    # Python's own SIGINT handler before the run (a test worker may have another): the one restored
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _second_ctrl_c_raises()
    finally:
        signal.signal(signal.SIGINT, previous)


def _second_ctrl_c_raises():
    with StopRequest(multihost=False) as stop:
        stop.requested(0)
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested(1) is True and stop.signal_name == "SIGINT"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)


PROBE = """
import os, signal, sys, time
from lectarch.train.preemption import StopRequest
with StopRequest(multihost=False) as stop:
    if sys.argv[1] == "after_first_step":
        stop.requested(0)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)
    print("ready", flush=True)
    os.kill(os.getpid(), signal.SIGTERM)  # before the first step, or the second signal
    time.sleep(30)
print("survived", flush=True)
"""


@pytest.mark.parametrize("moment", ["before_first_step", "after_first_step"])
def test_sigterm_before_training_or_a_second_sigterm_ends_the_process_at_once(moment):
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", PROBE, moment], cwd=REPO, capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONPATH": REPO})
    assert out.returncode == -signal.SIGTERM and "survived" not in out.stdout and "ready" in out.stdout
    assert time.monotonic() - t0 < 25  # not the 30 s sleep: killed by the signal itself


AGREE = """
import sys, time
import numpy as np
from jax.experimental import multihost_utils
from lectarch.train import distributed
from lectarch.train.preemption import StopRequest
pid = int(sys.argv[1])
distributed.initialize(distributed.Launch("localhost:" + sys.argv[2], 2, pid))
with StopRequest() as stop:
    for step in range(100000):
        if stop.requested(step):
            print("stopped before step", step + 1, "signal", stop.signal_name, flush=True)
            break
        multihost_utils.process_allgather(np.array([step]))  # a collective per step, as training has
        time.sleep(0.01)
        if step == 20:
            print("running", flush=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_two_processes_stop_after_the_same_step_when_one_of_them_is_signalled(sig):
    env = {**cli_env(devices=1), "PYTHONPATH": REPO}
    port = str(_free_port())
    procs = [subprocess.Popen([sys.executable, "-c", AGREE, str(i), port], cwd=REPO, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for i in range(2)]
    try:
        while (line := procs[1].stdout.readline()) and line.strip() != "running":  # gloo prints its own lines
            pass
        procs[1].send_signal(sig)  # process 1 only
        outputs = [p.communicate(timeout=90)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0]
    lines = [out.strip().splitlines()[-1] for out in outputs]
    assert lines[0].split()[:4] == lines[1].split()[:4], lines  # the same step in both
    assert lines[0].startswith("stopped before step") and int(lines[0].split()[3]) > 21
    assert lines[1].endswith("signal " + signal.Signals(sig).name) and lines[0].endswith("signal SIGTERM")


# Two processes over gloo training the MLP: log every step (so every loss is compared), save every 40.
# The 120 steps after 40 are room for the stop asked for in the save of step 40 to come before the end
# (JAX's preemption notifier looks for a SIGTERM once a second: at most some 100 steps of this MLP).
RUN = ("num_steps=160", "batch_size=16", "eval_batch_size=120", "log_every=1", "eval_every=160",
       "checkpoint_every=40", "model.width=32", "progress=false", "compilation_cache=off", "pictures=false")
WORKER = os.path.join(REPO, "tests", "train", "preemption_worker.py")


def _run_two(workdir, moment="none", signal_process_1_after_step=None) -> list[str]:
    """Both processes' last lines; ``signal_process_1_after_step``: SIGTERM to process 1 once process 0
    has logged that step."""
    env = {**cli_env(devices=1), "PYTHONPATH": REPO}
    port = str(_free_port())
    procs = [subprocess.Popen([sys.executable, WORKER, str(i), port, str(workdir), moment, *RUN], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(2)]
    try:
        if signal_process_1_after_step is not None:
            metrics = workdir / "metrics.jsonl"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not (
                    metrics.exists() and metrics.read_text().count('"train"') >= signal_process_1_after_step):
                time.sleep(0.05)
            procs[1].send_signal(signal.SIGTERM)
        outputs = [p.communicate(timeout=240)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    return [o.strip().splitlines()[-1] for o in outputs]


def _losses(workdir) -> dict[int, float]:
    from lectarch.train.metrics import read_metrics

    if not (workdir / "metrics.jsonl").exists():  # stopped before its first step
        return {}
    return {r["step"]: r["loss"] for r in read_metrics(workdir, "train")}


def _run_uninterrupted(workdir) -> None:
    assert _run_two(workdir) == ["process 0: finished at step 160", "process 1: finished at step 160"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The losses of the run never interrupted, trained once per test run (the cases below may run in
    different test workers)."""
    return _losses(shared_folder(tmp_path_factory, "mlp_two_processes_uninterrupted", _run_uninterrupted))


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["start", "mid", "save:40"])
def test_sigterm_to_one_of_two_processes_saves_one_step_and_resumes_exactly(tmp_path, uninterrupted, moment):
    workdir = tmp_path / "run"
    if moment == "mid":
        lines = _run_two(workdir, signal_process_1_after_step=30)
    else:
        lines = _run_two(workdir, moment)
    steps = {int(line.rsplit(" ", 1)[1]) for line in lines}
    assert len(steps) == 1, lines  # both processes stopped after the same step
    (stopped,) = steps
    assert lines == [f"process 0: interrupted at step {stopped}", f"process 1: interrupted at step {stopped}"]
    assert stopped < 160 and (stopped >= 40 if moment == "save:40" else True)
    saved = sorted(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
    assert saved[-1] == stopped  # the step both stopped after is saved, once, by both together
    assert sorted(_losses(workdir)) == list(range(1, stopped + 1))
    if moment == "start":  # stopped before its first step: the notice came before training started
        assert stopped <= 1 and saved == [stopped]  # 0 unless the agreement came after the first step
        return  # (resuming from a saved step is shown by the other two moments)

    assert _run_two(workdir) == ["process 0: finished at step 160", "process 1: finished at step 160"]
    resumed = _losses(workdir)
    assert sorted(resumed) == list(range(1, 161))
    assert resumed == uninterrupted  # every loss, before and after the stop, to the last digit
