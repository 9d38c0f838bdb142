"""Is the workdir a run writes into still the one it locked?

A workdir deleted (or moved, or replaced) while a run trains would otherwise be re-created by the
next write (orbax makes the checkpoint folder again) and the run would go on with no ``config.json``
and no lock. The run's lock file (``lectarch.train.workdir.RunLock``, held open for the whole run)
tells: at each step boundary where the loop syncs, the open file must still be the one at
``WORKDIR/.lock``. If it is not, the run stops with one line instead of writing anywhere.
"""

import os
import pathlib

from lectarch.config.errors import ConfigError


class WorkdirLost(ConfigError):
    """The workdir was deleted, moved or replaced while the run held its lock."""


def lock_lost(lock_path: str | os.PathLike, fd: int) -> str | None:
    """Why ``fd`` (the run's open lock file) is no longer ``lock_path``; ``None`` while it is."""
    lock_path = pathlib.Path(lock_path)
    workdir = lock_path.parent
    try:
        held = os.fstat(fd)
    except OSError as e:
        return f"the lock of workdir {workdir} cannot be read ({e.strerror or e})"
    try:
        now = os.stat(lock_path)
    except FileNotFoundError:
        return (f"workdir {workdir} was deleted or moved while training (its lock file {lock_path} is gone); "
                f"stopped without writing there again")
    except OSError as e:
        return f"workdir {workdir} cannot be read while training ({e.strerror or e}); stopped"
    if (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
        return (f"workdir {workdir} was replaced while training ({lock_path} is another file now); stopped "
                f"without writing there again")
    return None


def check_lock(lock_path: str | os.PathLike, fd: int) -> None:
    """Raise ``WorkdirLost`` (one line) if the run's workdir is gone; call it at step boundaries."""
    problem = lock_lost(lock_path, fd)
    if problem:
        raise WorkdirLost(problem)


__all__ = ["WorkdirLost", "check_lock", "lock_lost"]
