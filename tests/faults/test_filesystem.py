"""Disk full or read-only file system at metrics.jsonl, TensorBoard events and pictures: one line
naming the file and the cause, a non-zero exit, the last checkpoint kept, and an exact resume once
the cause is gone. The faults are injected (OSError without a file name, as a failed write or
flush raises it), so the suite runs on any machine."""

import errno
import os
import pathlib

import PIL.Image
import pytest
import tensorboardX

from tests.faults.common import CNN, MLP, TINY, assert_one_line_error, run_cli, train_losses

CAUSES = {errno.ENOSPC: "No space left on device", errno.EROFS: "Read-only file system"}


def _fault(code: int) -> OSError:
    return OSError(code, os.strerror(code))


class _FailingFile:
    def __init__(self, f, code):
        self._f, self._code = f, code

    def write(self, text):
        raise _fault(self._code)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_fault_at_metrics_jsonl_is_one_line_and_the_run_resumes_exactly(tiny_losses, tmp_path, monkeypatch, code):
    run = tmp_path / "run"
    real_open = pathlib.Path.open
    writes = []

    def open_failing_at_step_4(self, mode="r", *a, **kw):
        f = real_open(self, mode, *a, **kw)
        if self.name == "metrics.jsonl" and mode == "a":
            writes.append(1)
            if len(writes) == 2:  # step 4's row: the checkpoint of step 2 is already saved
                return _FailingFile(f, code)
        return f

    monkeypatch.setattr(pathlib.Path, "open", open_failing_at_step_4)
    status, _, err = run_cli("train", "--config", MLP, "--workdir", str(run), *TINY)
    assert_one_line_error(status, err, str(run / "metrics.jsonl"), CAUSES[code])
    monkeypatch.undo()
    assert sorted(p.name for p in (run / "checkpoints").iterdir() if p.name.isdigit()) == ["2"]
    status, _, err = run_cli("train", "--config", MLP, "--workdir", str(run), *TINY)
    assert status == 0, err
    assert "Resuming from step 2" in err
    assert train_losses(run) == tiny_losses  # the same run never interrupted


def test_fault_at_tensorboard_events_is_one_line(tmp_path, monkeypatch):
    def full(self, *a, **kw):
        raise _fault(errno.ENOSPC)

    monkeypatch.setattr(tensorboardX.SummaryWriter, "flush", full)
    status, _, err = run_cli("train", "--config", MLP, "--workdir", str(tmp_path), *TINY)
    assert_one_line_error(status, err, str(tmp_path / "tensorboard"), "No space left on device")


def test_fault_at_pictures_is_one_line(tmp_path, monkeypatch):
    def full(*a, **kw):
        raise _fault(errno.ENOSPC)

    monkeypatch.setattr(PIL.Image.Image, "save", full)  # the rendered picture's PNG write
    cnn = [a for a in TINY if not a.startswith("--config.model.")] + ["--config.model.channels=4,8"]
    status, _, err = run_cli("train", "--config", CNN, "--workdir", str(tmp_path), *cnn, "--config.pictures=true")
    line = assert_one_line_error(status, err, str(tmp_path / "pictures"), "No space left on device")
    assert line.split(": ")[-2].endswith(".png")  # the very file that could not be written
