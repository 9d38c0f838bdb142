"""One run per workdir, and workdirs that cannot hold a run refused before anything is written."""

import errno
import os
import pathlib
import signal
import subprocess
import sys

import pytest

from lectarch.train.workdir import RunLock, WorkdirError, WorkdirLocked, atomic_write_text, prepare
from tests.faults.common import MLP, TINY, assert_one_line_error, run_cli, snapshot
from tests.helpers import REPO

HOLD_LOCK = ("import sys, time; from lectarch.train.workdir import RunLock; RunLock(sys.argv[1]).acquire(); "
             "print('locked', flush=True); time.sleep(600)")


def _hold_lock_in_another_process(workdir: pathlib.Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(workdir)], cwd=REPO, stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_train_on_a_locked_workdir_exits_2_naming_the_other_process_and_changes_nothing(tmp_path):
    code, _, err = run_cli("train", "--config", MLP, "--workdir", str(tmp_path), *TINY, "--config.num_steps=2")
    assert code == 0, err
    holder = _hold_lock_in_another_process(tmp_path)
    before = snapshot(tmp_path)
    try:
        code, _, err = run_cli("train", "--config", MLP, "--workdir", str(tmp_path), *TINY)
        assert_one_line_error(code, err, str(tmp_path), f"process {holder.pid}", "in use")
        assert snapshot(tmp_path) == before
    finally:
        holder.send_signal(signal.SIGKILL)  # kill -9: the kernel drops the lock, nothing stale remains
        holder.wait()
    code, _, err = run_cli("train", "--config", MLP, "--workdir", str(tmp_path), *TINY, "--config.num_steps=4")
    assert code == 0, err
    assert "Resuming from step 2" in err


def test_lock_is_exclusive_and_released(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(WorkdirLocked, match=f"process {os.getpid()}"):
            RunLock(tmp_path).acquire()
    with RunLock(tmp_path):  # released on exit: a later run takes it
        pass


def test_read_only_commands_work_beside_a_running_train(tmp_path):
    run = tmp_path / "run"
    code, _, err = run_cli("train", "--config", MLP, "--workdir", str(run), *TINY, "--config.num_steps=2")
    assert code == 0, err
    with RunLock(run):  # as while `lectarch train` runs there
        before = snapshot(run)
        code, out, err = run_cli("gradflow", "--config", MLP, "--workdir", str(run), "--out", str(tmp_path / "g"),
                                 "--config.model.width=16", "--config.batch_size=16")
        assert code == 0, err
        assert "outputs in" in out
        assert snapshot(run) == before


@pytest.mark.parametrize("case", ["file", "under_file"])
def test_workdir_that_is_a_file_or_under_one_is_refused(tmp_path, case):
    f = tmp_path / "notes.txt"
    f.write_text("my notes\n")
    workdir = f if case == "file" else f / "run"
    code, _, err = run_cli("train", "--config", MLP, "--workdir", str(workdir), *TINY)
    assert_one_line_error(code, err, str(workdir), "file")
    with pytest.raises(WorkdirError, match="is a file" if case == "file" else "is under .*notes.txt"):
        prepare(workdir)
    assert f.read_text() == "my notes\n"


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_workdir_is_refused(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("train", "--config", MLP, "--workdir", text, *TINY)
    assert_one_line_error(code, err, "non-empty path")
    with pytest.raises(WorkdirError, match="non-empty path"):
        prepare(text)
    assert list(tmp_path.iterdir()) == []  # nothing trained into the current directory


def _read_only_bind_mount(directory: pathlib.Path) -> bool:
    if os.geteuid() != 0:
        return False
    ok = subprocess.run(["mount", "--bind", str(directory), str(directory)], capture_output=True).returncode == 0
    if ok and subprocess.run(["mount", "-o", "remount,ro,bind", str(directory)], capture_output=True).returncode:
        subprocess.run(["umount", str(directory)], capture_output=True)
        return False
    return ok


def test_workdir_on_a_read_only_file_system_is_one_line(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() == 0:
        if not _read_only_bind_mount(ro):
            pytest.skip("running as root without permission to mount: see the injected EROFS test")
        expected = "Read-only file system"
    else:
        ro.chmod(0o555)
        expected = "Permission denied"
    try:
        code, _, err = run_cli("train", "--config", MLP, "--workdir", str(ro / "run"), *TINY)
        assert_one_line_error(code, err, str(ro / "run"), "not writable", expected)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(ro)], capture_output=True)
        ro.chmod(0o755)


def test_injected_read_only_file_system_at_the_workdir_is_one_line(tmp_path, monkeypatch):
    def erofs(self, data):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.setattr(pathlib.Path, "write_bytes", erofs)
    code, _, err = run_cli("train", "--config", MLP, "--workdir", str(tmp_path / "run"), *TINY)
    assert_one_line_error(code, err, str(tmp_path / "run"), "Read-only file system")


def test_atomic_write_leaves_the_old_file_or_the_new_one(tmp_path, monkeypatch):
    path = tmp_path / "config.json"
    atomic_write_text(path, "old\n")
    assert path.read_text() == "old\n"

    def crash(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        atomic_write_text(path, "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]  # no temporary file left behind
    monkeypatch.undo()
    atomic_write_text(path, "new\n")
    assert path.read_text() == "new\n"


def test_sweep_trial_on_a_locked_workdir_exits_2_and_changes_nothing(tmp_path):
    space = str(pathlib.Path(REPO) / "experiments" / "sweeps" / "mlp_digits_lr.py")
    trial = tmp_path / "trials" / "0000"
    trial.mkdir(parents=True)
    with RunLock(trial):  # e.g. `lectarch train --workdir SWEEP/trials/0000` still running
        before = snapshot(trial)
        code, _, err = run_cli("sweep", "--config", MLP, "--space", space, "--workdir", str(tmp_path), "--trials", "1",
                               *TINY)
        assert_one_line_error(code, err, str(trial), f"process {os.getpid()}")
        assert snapshot(trial) == before
