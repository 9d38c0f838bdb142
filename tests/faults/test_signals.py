"""SIGTERM/SIGINT save and exit 0 with the resume command whatever ``checkpoint_every`` is; a step
already saved is not saved again."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from lectarch.train.loop import train
from tests.faults.checkpoint_runs import losses, mlp
from tests.helpers import REPO, cli_env


def _start(workdir: pathlib.Path, every: int, num_steps: int) -> subprocess.Popen:
    args = ["--config", "experiments/configs/mlp_digits.py", f"--config.num_steps={num_steps}", "--config.log_every=1",
            "--config.eval_every=100000", f"--config.checkpoint_every={every}", "--config.model.width=16",
            "--config.progress=false", "--config.pictures=false"]
    return subprocess.Popen([sys.executable, "-m", "lectarch", "train", "--workdir", str(workdir), *args], cwd=REPO,
                            env=cli_env(8), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_step(proc: subprocess.Popen, workdir: pathlib.Path, step: int, timeout: float = 180) -> None:
    path, t0 = workdir / "metrics.jsonl", time.time()
    while time.time() - t0 < timeout:
        if path.exists() and any(json.loads(x)["step"] >= step for x in path.read_text().splitlines()[:-1]):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise TimeoutError(step)


@pytest.mark.parametrize(("sig", "every"), [(signal.SIGTERM, 5), (signal.SIGINT, 7), (signal.SIGTERM, 7)])
def test_a_signal_at_a_frequent_cadence_saves_and_exits_0(tmp_path, sig, every):
    proc = _start(tmp_path, every, num_steps=100_000)
    _wait_for_step(proc, tmp_path, 12)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    text = out + err
    assert proc.returncode == 0 and "Traceback" not in text, text
    assert f"{sig.name} received: saved a checkpoint at step" in text and "lectarch train" in text
    saved = int(text.split("checkpoint at step ")[1].split(".")[0])
    ckpts = tmp_path / "checkpoints"
    assert (ckpts / str(saved)).is_dir() and saved == max(int(p.name) for p in ckpts.iterdir())
    rerun = _start(tmp_path, every, num_steps=saved + 3)
    out, err = rerun.communicate(timeout=180)
    assert rerun.returncode == 0 and f"Resuming from step {saved}" in err, err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_right_after_a_checkpoint_step_does_not_save_it_twice(tmp_path, capsys, sig):
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
    assert losses(tmp_path) == losses(_uninterrupted(tmp_path / "reference"))


def _uninterrupted(workdir: pathlib.Path) -> pathlib.Path:
    assert train(mlp("num_steps=10", "checkpoint_every=5", "eval_every=5", "log_every=5"), workdir).step == 10
    return workdir
