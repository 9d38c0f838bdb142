"""Where a study lives, named by one ``--storage`` string that every worker of a sweep shares.

- ``sqlite:///PATH`` (the default, ``DIR/study.db``): one machine, nothing to start;
- ``postgresql://user:password@host:port/db`` (or ``mysql://...``): workers on many machines;
  PostgreSQL goes through the ``psycopg`` driver (``pip install 'lectarch[postgres]'``);
- ``journal:PATH``: Optuna's journal file, for clusters with a shared file system and no
  database server (appends under a file lock; no heartbeats, see ``fail_killed_trials``).

Database storages record heartbeats: a trial whose worker stopped sending them for ``grace_s``
seconds is failed and retried by the next worker that starts a trial.
"""

import pathlib
import random
import time
import warnings
from collections.abc import Callable

import optuna

from lectarch.config import ConfigError

HEARTBEAT_S, GRACE_S = 20, 90
JOURNAL_PREFIX = "journal:"


def default_storage(workdir: pathlib.Path) -> str:
    return f"sqlite:///{(workdir / 'study.db').absolute()}"


def database_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` name the installed psycopg (3) driver for SQLAlchemy."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            try:
                import psycopg  # noqa: F401
            except ImportError:
                raise ConfigError(f"--storage {scheme}...: the PostgreSQL driver is missing; "
                                  "pip install 'lectarch[postgres]'") from None
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def make_storage(url: str, *, heartbeat_s: int = HEARTBEAT_S, grace_s: int = GRACE_S,
                 stale_trial_callback: Callable | None = None) -> optuna.storages.BaseStorage:
    """The storage named by ``url``: a journal file or a database with heartbeats."""
    if url.startswith(JOURNAL_PREFIX):
        path = pathlib.Path(url.removeprefix(JOURNAL_PREFIX)).absolute()
        if not path.parent.is_dir():
            raise ConfigError(f"--storage {url}: the folder {str(path.parent)!r} does not exist")
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    import sqlalchemy.exc

    url = database_url(url)
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    for attempt in range(10):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=heartbeat_s,
                                                  grace_period=grace_s,
                                                  heartbeat_stale_trial_callback=stale_trial_callback)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError):
            # Workers starting together on a new database race to create its schema: the loser retries.
            if attempt == 9:
                raise
            time.sleep(0.2 + random.random())
    raise AssertionError("unreachable")


__all__ = ["GRACE_S", "HEARTBEAT_S", "JOURNAL_PREFIX", "database_url", "default_storage", "make_storage"]
