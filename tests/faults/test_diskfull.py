"""A full disk at a checkpoint save: a one-line error naming the path and the cause, exit 4, the last
good checkpoint kept, and an exact resume once space is free. Injected ``OSError(ENOSPC)`` always; a
real small tmpfs when running as root where ``mount`` works."""

import errno
import os
import pathlib
import shutil
import subprocess

import orbax.checkpoint as ocp
import pytest

from lectarch.train import checksums
from lectarch.experiment import train
from lectarch.train.loop import EXIT_SAVE
from tests.faults.checkpoint_runs import losses, mlp
from tests.faults.common import run_cli
from tests.helpers import flags, lectarch

ENOSPC = os.strerror(errno.ENOSPC)  # "No space left on device"


@pytest.fixture
def reference(mlp_30_losses) -> dict[int, float]:
    """The losses of the uninterrupted 30-step run (shared by the test run)."""
    return mlp_30_losses


def _check_failed_then_resume(workdir: pathlib.Path, result, reference, capsys) -> None:
    assert result.status == "save_failed" and result.exit_code == EXIT_SAVE == 4
    assert ENOSPC in result.message and str(workdir / "checkpoints") in result.message
    assert len(result.message.splitlines()) == 1
    assert checksums.verify(workdir / "checkpoints" / "10") is None  # the last good checkpoint is intact
    capsys.readouterr()
    resumed = train(mlp("num_steps=30"), workdir)
    assert resumed.status == "finished" and "Resuming from step 10" in capsys.readouterr().err
    assert losses(workdir) == reference


def test_enospc_when_a_save_starts(tmp_path, reference, monkeypatch, capsys):
    real_save = ocp.CheckpointManager.save

    def full_disk(self, step, *args, **kw):
        if step == 20:
            raise OSError(errno.ENOSPC, ENOSPC, str(self.directory / "20.orbax-checkpoint-tmp"))
        return real_save(self, step, *args, **kw)

    monkeypatch.setattr(ocp.CheckpointManager, "save", full_disk)
    result = train(mlp("num_steps=30"), tmp_path)
    assert result.step == 20
    monkeypatch.undo()
    _check_failed_then_resume(tmp_path, result, reference, capsys)


def test_an_asynchronous_save_that_fails_is_reported_not_swallowed(tmp_path, reference, monkeypatch, capsys):
    """Orbax's background thread logs a failed write and skips finalising the step; the loop must
    still stop with the cause (it used to go on as if the checkpoint existed)."""
    real_save, real_check, failed = ocp.CheckpointManager.save, ocp.CheckpointManager.check_for_errors, []

    def save(self, step, *args, **kw):
        if step == 20:
            failed.append(step)
        return real_save(self, step, *args, **kw)

    def check_for_errors(self):
        if failed:  # what tensorstore raises when the disk fills during the write
            raise ValueError("RESOURCE_EXHAUSTED: Failed writing ocdbt data file")
        return real_check(self)

    monkeypatch.setattr(ocp.CheckpointManager, "save", save)
    monkeypatch.setattr(ocp.CheckpointManager, "check_for_errors", check_for_errors)
    result = train(mlp("num_steps=30"), tmp_path)
    monkeypatch.undo()
    # reported at the first host sync after the background write ended (no later save was started)
    assert 20 <= result.step <= 30 and not (tmp_path / "checkpoints" / "30").exists()
    assert not (tmp_path / "checkpoints" / "20").exists()  # the partial save is set aside, never restored
    _check_failed_then_resume(tmp_path, result, reference, capsys)


def test_not_enough_free_space_is_reported_before_the_save(tmp_path, reference, monkeypatch, capsys):
    real_usage = shutil.disk_usage

    def nearly_full(path):
        return real_usage(path)._replace(free=1000)

    first = train(mlp("num_steps=10"), tmp_path)
    assert first.status == "finished"
    monkeypatch.setattr(shutil, "disk_usage", nearly_full)
    result = train(mlp("num_steps=30"), tmp_path)
    monkeypatch.undo()
    assert "MB needed" in result.message and not (tmp_path / "checkpoints" / "20").exists()
    _check_failed_then_resume(tmp_path, result, reference, capsys)


def _mount_tmpfs(where: pathlib.Path, size: str) -> bool:
    if os.geteuid() != 0:
        return False
    where.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def test_a_real_full_disk_is_one_line_exit_4_and_resumes_when_freed(tmp_path):
    mnt = tmp_path / "mnt"
    if not _mount_tmpfs(mnt, "8m"):
        pytest.skip("needs root and a working `mount -t tmpfs` for a real full disk")
    try:
        workdir = mnt / "run"
        wide = ("model.width=256",)
        assert train(mlp("num_steps=10", *wide), workdir).status == "finished"
        filler = mnt / "filler"
        free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
        filler.write_bytes(b"\0" * max(free - 200_000, 0))  # room for logs, not for a checkpoint
        proc = lectarch("train", "--config", "experiments/configs/mlp_digits.py", "--workdir", str(workdir),
                        *flags((*mlp_overrides("num_steps=20"), *wide)))
        text = proc.stdout + proc.stderr
        assert proc.returncode == 4 and "Traceback" not in text and "ImportError" not in text, text
        assert ENOSPC in text and str(workdir / "checkpoints") in text
        assert checksums.verify(workdir / "checkpoints" / "10") is None
        filler.unlink()
        # the resume in this process (a process of its own would only start JAX again)
        code, _, err = run_cli("train", "--config", "experiments/configs/mlp_digits.py", "--workdir", str(workdir),
                               *flags((*mlp_overrides("num_steps=20"), *wide)))
        assert code == 0 and "Resuming from step 10" in err, err
        reference = tmp_path / "reference"
        assert train(mlp("num_steps=20", *wide), reference).status == "finished"
        assert losses(workdir) == losses(reference)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def mlp_overrides(*extra: str) -> tuple[str, ...]:
    from tests.faults.checkpoint_runs import MLP

    return (*MLP, *extra)


def test_a_save_that_hangs_past_the_timeout_is_reported(tmp_path, monkeypatch):
    import jax.numpy as jnp

    from lectarch.train.checkpoint import Checkpointer, CheckpointSaveError

    ckpt = Checkpointer(tmp_path / "checkpoints", save_timeout=0.2)
    ckpt.save(1, {"w": jnp.ones(3)}, {"next_step": 1})
    monkeypatch.setattr(ocp.CheckpointManager, "is_saving_in_progress", lambda self: True)  # a stuck write
    with pytest.raises(CheckpointSaveError, match=r"checkpoint of step 1 to .*checkpoints has not finished after 0.2s"):
        ckpt.wait()
    monkeypatch.undo()
    ckpt.close()
