"""Exact resume: a run killed at any moment and rerun is bit-identical to one never interrupted.
(Kills placed in the middle of checkpoint saves: ``tests/faults/test_kill.py``; SIGTERM and SIGINT:
``tests/faults/test_signals.py``.)"""

import json
import pathlib
import random
import signal
import subprocess
import sys
import time

import pytest

from lectarch.config import ConfigError
from lectarch.experiment import train
from lectarch.train.metrics import read_metrics
from tests.faults.common import MLP, run_cli
from tests.helpers import LEAN, REPO, cli_env, config, flags
from tests.shared_runs import shared_folder

OVERRIDES = ("num_steps=60", "log_every=2", "eval_every=30", "checkpoint_every=10", "model.width=16",
             "progress=false", *LEAN)


def _argv(workdir: pathlib.Path) -> list[str]:
    return ["train", "--workdir", str(workdir), "--config", MLP, *flags(OVERRIDES)]


def _start(workdir: pathlib.Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lectarch", *_argv(workdir)], cwd=REPO, env=cli_env(8),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_step(proc: subprocess.Popen, workdir: pathlib.Path, step: int, timeout: float = 300) -> None:
    path = workdir / "metrics.jsonl"
    t0 = time.time()
    while time.time() - t0 < timeout:
        if path.exists() and any(json.loads(x)["step"] >= step for x in path.read_text().splitlines()[:-1]):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise TimeoutError(step)


def _losses(workdir: pathlib.Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in read_metrics(workdir, "train")}


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> dict[int, float]:
    """The losses of the same run never interrupted (in this process: the same numbers as the CLI's)."""
    def make(workdir):
        assert train(config("mlp_digits", *OVERRIDES), workdir).status == "finished"

    return _losses(shared_folder(tmp_path_factory, "resume_reference", make))


def test_kill_9_at_a_random_step_then_resume_is_bit_identical(tmp_path, reference):
    kill_at = random.Random().randint(5, 50)
    proc = _start(tmp_path)
    _wait_for_step(proc, tmp_path, kill_at)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    ckpt_dir = tmp_path / "checkpoints"
    # Finished saves are plain step folders; a save cut short by the kill is a temporary folder.
    saved = sorted(int(p.name) for p in ckpt_dir.iterdir() if p.name.isdigit()) if ckpt_dir.exists() else []
    # the same command again, in this process (a process of its own would only start JAX again)
    code, _, err = run_cli(*_argv(tmp_path))
    assert code == 0, err
    if saved:
        assert f"Resuming from step {saved[-1]}" in err
    else:  # killed before the first asynchronous save finished: a fresh start is the right thing
        assert "Resuming" not in err
    resumed = _losses(tmp_path)
    assert sorted(resumed) == sorted(reference)
    assert resumed == reference, f"killed at step >= {kill_at}"  # every logged loss, to the last digit
    leftovers = [p.name for p in (tmp_path / "checkpoints").iterdir() if "tmp" in p.name]
    assert not leftovers and len(list((tmp_path / "checkpoints").iterdir())) <= 3


def _small(*overrides):
    return config("mlp_digits", "num_steps=40", "log_every=10", "eval_every=40", "checkpoint_every=10",
                  "model.width=16", "progress=false", "max_to_keep=3", *overrides)


def test_corrupt_latest_checkpoint_is_reported_and_skipped(tmp_path, capsys):
    assert train(_small(), tmp_path).step == 40
    latest = tmp_path / "checkpoints" / "40"
    for f in latest.rglob("*"):
        if f.is_file() and f.stat().st_size > 0 and "state" in f.parts:
            f.write_bytes(b"\0" * 7)  # a crash in the middle of writing
    capsys.readouterr()
    result = train(_small("num_steps=50"), tmp_path)
    err = capsys.readouterr().err
    assert "checkpoint at step 40" in err and "is corrupt" in err and "Resuming from step 30" in err
    assert result.status == "finished" and result.step == 50
    assert (tmp_path / "checkpoints-corrupt" / "40").is_dir()
    # the resumed run redid steps 31..50 and logged them once each
    steps = [r["step"] for r in read_metrics(tmp_path, "train")]
    assert steps == [10, 20, 30, 40, 50]


def test_resuming_with_a_different_model_or_optimizer_is_a_clear_error(tmp_path):
    train(_small("num_steps=10"), tmp_path)
    with pytest.raises(ConfigError, match=r"cannot resume .*model\.width: 16 -> 32"):
        train(_small("model.width=32"), tmp_path)
    with pytest.raises(ConfigError, match=r"optimizer\.name: 'adam' -> 'sgd'"):
        train(_small("optimizer.name=sgd"), tmp_path)
    assert train(_small("num_steps=20"), tmp_path).step == 20  # a longer run of the same config is fine


def test_nonfinite_loss_stops_with_the_last_good_checkpoint_kept(tmp_path):
    cfg = _small("optimizer.name=sgd", "learning_rate=1e30", "checkpoint_every=1", "log_every=1")
    result = train(cfg, tmp_path)
    assert result.status == "nonfinite" and result.exit_code == 3
    bad = int(result.message.split("at step ")[1].split(":")[0])
    assert bad == result.step and bad < 40
    kept = sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir())
    assert kept and max(kept) == bad - 1  # everything before the bad step, nothing after
    assert all(r["step"] < bad for r in read_metrics(tmp_path, "train"))
