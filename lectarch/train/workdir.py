"""A training workdir: checked before use, one run at a time, small files written whole.

- ``prepare(workdir)`` refuses an empty path, a file, a path under a file and a directory that
  cannot be written (including a read-only file system), each as one ``WorkdirError`` line.
- ``RunLock(workdir)`` holds ``fcntl.flock`` on ``workdir/.lock`` for the run's lifetime. The kernel
  drops the lock when the process dies, so ``kill -9`` leaves no stale lock; a second run on the
  same workdir stops before changing anything, naming the workdir and the process that holds it.
  Read-only commands (visualize, decode, inspect, gradflow) never take it.
- ``atomic_write_text(path, text)`` writes a temporary file, fsyncs it and renames it over
  ``path``: a crash leaves either the old file or the new one, never half of one.
"""

import errno
import fcntl
import os
import pathlib

from lectarch.config.errors import ConfigError

LOCK_NAME = ".lock"


class WorkdirError(ConfigError):
    """A workdir that cannot hold a run; one line naming the path and the cause."""


class WorkdirLocked(WorkdirError):
    """Another process is training in this workdir."""


# Orbax and TensorStore report a failed file-system call in their own exception types, with the
# OS's words somewhere in the text.
_CAUSES_IN_TEXT = (("RESOURCE_EXHAUSTED", errno.ENOSPC), ("No space left", errno.ENOSPC),
                   ("Read-only file system", errno.EROFS), ("Permission denied", errno.EACCES),
                   ("Operation not permitted", errno.EPERM))


def describe_os_error(e: BaseException) -> str:
    """A file-system failure in words, the one description every command prints.

    An ``OSError``: ``PATH: cause`` when it names a path (``/run/metrics.jsonl: No space left on
    device``), else the cause. Another exception (orbax's, TensorStore's): the OS's cause found in
    its text, else ``Type: first line``.
    """
    if isinstance(e, OSError):
        cause = (e.strerror or (os.strerror(e.errno) if e.errno else "") or str(e) or type(e).__name__)
        return f"{e.filename}: {cause}" if e.filename not in (None, "") else cause
    text = str(e)
    for marker, code in _CAUSES_IN_TEXT:
        if marker in text:
            return os.strerror(code)
    return f"{type(e).__name__}: {text.splitlines()[0][:200] if text else ''}"


def prepare(workdir: str | os.PathLike) -> pathlib.Path:
    """The absolute workdir, created if missing; ``WorkdirError`` if it cannot hold a run."""
    if str(workdir).strip() == "":
        raise WorkdirError("--workdir must be a non-empty path (it holds the run's checkpoints and logs)")
    path = pathlib.Path(workdir).absolute()
    for parent in (path, *path.parents):
        if parent.exists() and not parent.is_dir():
            where = "is a file" if parent == path else f"is under {parent}, which is a file"
            raise WorkdirError(f"workdir {path} {where}; choose a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise WorkdirError(f"workdir {path} is not writable ({describe_os_error(e)})") from None
    return path


def _holder(lock_path: pathlib.Path) -> str:
    try:
        pid = lock_path.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid else "another process"


class RunLock:
    """``with RunLock(workdir):`` holds the workdir's run lock (non-blocking: busy -> WorkdirLocked)."""

    def __init__(self, workdir: str | os.PathLike):
        self.path = pathlib.Path(workdir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise WorkdirError(f"cannot lock workdir {self.path.parent} ({describe_os_error(e)})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WorkdirLocked(f"workdir {self.path.parent} is in use by {_holder(self.path)} (a training run "
                                f"holds {self.path}); wait for it to finish or choose another --workdir") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def check(self) -> None:
        """``WorkdirLost`` (one line) if the workdir was deleted, moved or replaced while held."""
        if self._fd is not None:
            from lectarch.train.workdir_lost import check_lock

            check_lock(self.path, self._fd)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves the old file or the new one, never a mix."""
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine is running (a zombie its parent has not reaped is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


__all__ = ["LOCK_NAME", "RunLock", "WorkdirError", "WorkdirLocked", "atomic_write_text", "describe_os_error", "pid_alive",
           "prepare"]
