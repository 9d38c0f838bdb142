"""Where a study lives, named by one ``--storage`` string that every worker of a sweep shares.

- ``sqlite:///PATH`` (the default, ``DIR/study.db``): one machine, nothing to start;
- ``postgresql://user:password@host:port/db`` (or ``mysql://...``): workers on many machines;
  PostgreSQL goes through the ``psycopg`` driver (``pip install 'lectarch[postgres]'``);
- ``journal:PATH``: Optuna's journal file, for clusters with a shared file system and no
  database server (appends under a file lock; no heartbeats, see ``fail_killed_trials``).

Database storages record heartbeats: a trial whose worker stopped sending them for ``grace_s``
seconds is failed and retried by the next worker that starts a trial.

A storage that cannot be used (a corrupt or read-only SQLite file or folder, a database that
refuses the connection, a journal file that is not one) is ``StorageError``: one line naming the
``--storage`` (password hidden) and the cause, exit 2 (``storage_error`` turns the database's or
the journal's exception into it).
"""

import contextlib
import json
import pathlib
import random
import re
import time
import warnings
from collections.abc import Callable, Iterator

import optuna

from lectarch.config import ConfigError

HEARTBEAT_S, GRACE_S = 20, 90
JOURNAL_PREFIX = "journal:"


class StorageError(ConfigError):
    """A study storage that cannot be read or written; one line naming it and the cause."""


def shown_url(url: str) -> str:
    """``url`` with its password hidden (``postgresql://user:***@host/db``)."""
    return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", url)


def _cause(e: BaseException) -> str:
    """The innermost cause's first line, without SQLAlchemy's ``(driver.Error)`` prefix."""
    seen = e
    while seen.__cause__ is not None or (seen.__context__ is not None and not seen.__suppress_context__):
        seen = seen.__cause__ or seen.__context__
    orig = getattr(seen, "orig", None) or seen
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return re.sub(r"^\([\w.]+\) ", "", text)[:300]


def storage_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a storage raises when it cannot be used (not those of a trial's own code)."""
    import optuna
    import sqlalchemy.exc

    return sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError


def storage_error(url: str, e: BaseException) -> StorageError:
    """``e`` (raised by the storage named ``url``) as one line naming the storage and the cause."""
    if url.startswith(JOURNAL_PREFIX) and isinstance(e, (ValueError, UnicodeDecodeError, json.JSONDecodeError)):
        cause = f"not an Optuna journal file ({type(e).__name__}: {str(e).splitlines()[0][:120]})"
    else:
        cause = _cause(e)
    return StorageError(f"--storage {shown_url(url)}: cannot use the study storage: {cause}")


@contextlib.contextmanager
def reported(url: str, *, journal_reads: bool = False) -> Iterator[None]:
    """Storage failures inside the block become one ``StorageError`` line. ``journal_reads``: the block
    only reads or writes the journal (its ``ValueError`` is a damaged file, not a trial's error)."""
    extra = (ValueError,) if journal_reads and url.startswith(JOURNAL_PREFIX) else ()
    try:
        yield
    except StorageError:
        raise
    except storage_errors() + extra as e:
        raise storage_error(url, e) from None


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


def file_storage_folder(url: str) -> pathlib.Path | None:
    """The folder of a file storage (``journal:PATH``, ``sqlite:///PATH``); ``None`` for a server."""
    if url.startswith(("sqlite:///", JOURNAL_PREFIX)):
        return pathlib.Path(url.removeprefix("sqlite:///").removeprefix(JOURNAL_PREFIX)).absolute().parent
    return None


def check_storage_folder(url: str, workdir: pathlib.Path | None = None) -> None:
    """A file storage's folder exists, or is ``workdir``, the folder a sweep makes before it opens the
    storage (as a first worker on a shared file system needs). Called before anything is written."""
    folder = file_storage_folder(url)
    if folder is not None and not folder.is_dir() and (workdir is None or folder != workdir.absolute()):
        raise ConfigError(f"--storage {url}: the folder {str(folder)!r} does not exist (a storage may be in a "
                          f"folder that exists or in the --workdir)")


def make_storage(url: str, *, heartbeat_s: int = HEARTBEAT_S, grace_s: int = GRACE_S,
                 stale_trial_callback: Callable | None = None) -> optuna.storages.BaseStorage:
    """The storage named by ``url``: a journal file or a database with heartbeats. A file storage's
    folder must exist (a sweep makes its workdir first, so a storage in the workdir does)."""
    check_storage_folder(url)
    if url.startswith(JOURNAL_PREFIX):
        with reported(url, journal_reads=True):
            path = pathlib.Path(url.removeprefix(JOURNAL_PREFIX)).absolute()
            return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    import sqlalchemy.exc

    shown, url = url, database_url(url)
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    for attempt in range(10):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=heartbeat_s,
                                                  grace_period=grace_s,
                                                  heartbeat_stale_trial_callback=stale_trial_callback)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError) as e:
            # Workers starting together on a new database race to create its schema: the loser retries.
            # A file or server that cannot be used at all is reported at once.
            if attempt == 9 or not _schema_race(e):
                raise storage_error(shown, e) from None
            time.sleep(0.2 + random.random())
        except storage_errors() as e:
            raise storage_error(shown, e) from None
    raise AssertionError("unreachable")


def _schema_race(e: BaseException) -> bool:
    """A failure that a worker creating the same schema at the same moment explains."""
    import sqlalchemy.exc

    text = str(getattr(e, "orig", e)).lower()
    if isinstance(e, sqlalchemy.exc.OperationalError):
        return "already exists" in text or "database is locked" in text
    return True


__all__ = ["GRACE_S", "HEARTBEAT_S", "JOURNAL_PREFIX", "StorageError", "database_url", "default_storage",
           "make_storage", "reported", "shown_url", "storage_error", "storage_errors"]
