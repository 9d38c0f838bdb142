"""SIGTERM/SIGINT save and exit 0 with the resume command whatever ``checkpoint_every`` is, and the
resumed run equals an uninterrupted one; a step already saved is not saved again."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from lectarch.experiment import train
from tests.faults.checkpoint_runs import losses, mlp
from tests.faults.common import MLP, run_cli
from tests.helpers import LEAN, REPO, cli_env, flags
from tests.shared_runs import shared_folder

def _args(workdir: pathlib.Path, every: int, num_steps: int) -> list[str]:
    return ["train", "--workdir", str(workdir), "--config", MLP, *flags((
        f"num_steps={num_steps}", "log_every=1", "eval_every=100000", f"checkpoint_every={every}", "model.width=16",
        "progress=false", *LEAN))]


def _start(workdir: pathlib.Path, every: int, num_steps: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lectarch", *_args(workdir, every, num_steps)], cwd=REPO,
                            env=cli_env(8), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_step(proc: subprocess.Popen, workdir: pathlib.Path, step: int, timeout: float = 300) -> None:
    path, t0 = workdir / "metrics.jsonl", time.time()
    while time.time() - t0 < timeout:
        if path.exists() and any(json.loads(x)["step"] >= step for x in path.read_text().splitlines()[:-1]):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise TimeoutError(step)


@pytest.mark.parametrize(("sig", "every"), [(signal.SIGTERM, 5), (signal.SIGINT, 7)])
def test_a_signal_at_a_frequent_cadence_saves_and_exits_0(tmp_path, sig, every):
    workdir = tmp_path / "run"
    proc = _start(workdir, every, num_steps=100_000)
    _wait_for_step(proc, workdir, 12)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=300)
    text = out + err
    assert proc.returncode == 0 and "Traceback" not in text, text
    assert f"{sig.name} received: saved a checkpoint at step" in text and "Resume with the same command" in text
    assert "lectarch train" in text
    saved = int(text.split("checkpoint at step ")[1].split(".")[0])
    ckpts = workdir / "checkpoints"
    assert (ckpts / str(saved)).is_dir() and saved == max(int(p.name) for p in ckpts.iterdir())
    # the same command again, in this process (a process of its own would only start JAX again)
    code, _, err = run_cli(*_args(workdir, every, num_steps=saved + 3))
    assert code == 0 and f"Resuming from step {saved}" in err, err
    # the interrupted and resumed run is the uninterrupted one, every loss to the last digit
    reference = train(mlp(f"num_steps={saved + 3}", "log_every=1", "eval_every=100000", f"checkpoint_every={every}"),
                      tmp_path / "reference")
    assert reference.status == "finished" and losses(workdir) == losses(tmp_path / "reference")


def _uninterrupted(workdir: pathlib.Path) -> None:
    assert train(mlp("num_steps=10", "checkpoint_every=5", "eval_every=5", "log_every=5"), workdir).step == 10


@pytest.fixture(scope="session")
def ten_step_losses(tmp_path_factory) -> dict[int, float]:
    return losses(shared_folder(tmp_path_factory, "mlp_10_steps_every_5", _uninterrupted))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_right_after_a_checkpoint_step_does_not_save_it_twice(tmp_path, capsys, sig, ten_step_losses):
    """The signal arrives during step 5's evaluation, just before step 5 is saved: the next check
    finds step 5 saved and must not save it again (it used to raise StepAlreadyExistsError)."""
    def on_eval(step, _metrics):
        if step == 5:
            os.kill(os.getpid(), sig)

    result = train(mlp("num_steps=50", "checkpoint_every=5", "eval_every=5", "log_every=5"), tmp_path,
                   on_eval=on_eval, resume_command="lectarch train ...")
    assert result.status == "interrupted" and result.exit_code == 0 and result.step == 5
    assert f"{sig.name} received: saved a checkpoint at step 5" in result.message
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["5"]
    resumed = train(mlp("num_steps=10", "checkpoint_every=5", "eval_every=5", "log_every=5"), tmp_path)
    assert resumed.status == "finished" and "Resuming from step 5" in capsys.readouterr().err
    assert losses(tmp_path) == ten_step_losses
