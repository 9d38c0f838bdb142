"""Flags checked like config values: argparse ``type=`` functions with one-line errors.

Each function takes the flag's text and returns its value or raises ``argparse.ArgumentTypeError``
with a message saying what is allowed; the command's parser turns it into one line and exit 2.
"""

import argparse
import importlib.util
import math
import os
import pathlib
import stat

_Bad = argparse.ArgumentTypeError


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _Bad(f"{text!r} is not an integer") from None


def int_range(lo: int, hi: int | None = None):
    """An integer in [lo, hi] (no upper end if ``hi`` is None)."""

    def parse(text: str) -> int:
        value = _int(text)
        if value < lo or (hi is not None and value > hi):
            allowed = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
            raise _Bad(f"{value} is out of range: must be an integer {allowed}")
        return value

    parse.__name__ = "integer"
    return parse


positive_int = int_range(1)
non_negative_int = int_range(0)


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _Bad(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise _Bad(f"{text!r} is out of range: must be a finite number")
    return value


def non_negative_float(text: str) -> float:
    value = finite_float(text)
    if value < 0:
        raise _Bad(f"{value} is out of range: must be a finite number >= 0")
    return value


def positive_int_list(text: str) -> list[int]:
    """``"1,10,50"`` -> [1, 10, 50]; every item a positive integer."""
    items = [t.strip() for t in text.split(",")]
    if not any(items):
        return []
    values = []
    for item in items:
        try:
            value = int(item)
        except ValueError:
            raise _Bad(f"{text!r}: {item!r} is not an integer (expected a comma list like 1,10,50)") from None
        if value < 1:
            raise _Bad(f"{text!r}: {value} is out of range: every item must be an integer >= 1")
        values.append(value)
    return values


def _stat(text: str) -> os.stat_result | None:
    """``os.stat`` of a path, ``None`` if it does not exist; any other failure (a name too long, a
    folder without permission) is the flag's one-line error."""
    try:
        return os.stat(text)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        raise _Bad(f"{_short(text)}: {e.strerror or e}") from None
    except ValueError as e:  # an embedded NUL byte
        raise _Bad(f"{_short(text)!r} is not a path ({e})") from None


def _short(text: str) -> str:
    return text if len(text) <= 240 else f"{text[:40]}...{text[-20:]} ({len(text)} characters)"


def existing_file(text: str) -> str:
    """A regular file that exists (not a directory, device, FIFO or socket)."""
    if text.strip() == "":
        raise _Bad("must be a non-empty path to a file")
    st = _stat(text)
    if st is None:
        raise _Bad(f"{_short(text)} does not exist")
    if stat.S_ISDIR(st.st_mode):
        raise _Bad(f"{_short(text)} is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise _Bad(f"{_short(text)} exists but is not a regular file (it is a {_file_kind(st.st_mode)})")
    return text


def _file_kind(mode: int) -> str:
    kinds = {stat.S_ISCHR: "character device", stat.S_ISBLK: "block device", stat.S_ISFIFO: "FIFO (named pipe)",
             stat.S_ISSOCK: "socket"}
    return next((name for test, name in kinds.items() if test(mode)), "special file")


def existing_dir(text: str) -> str:
    if text.strip() == "":
        raise _Bad("must be a non-empty path to a directory")
    st = _stat(text)
    if st is None:
        raise _Bad(f"{_short(text)} does not exist")
    if not stat.S_ISDIR(st.st_mode):
        raise _Bad(f"{_short(text)} is a file, not a directory")
    return text


def optional_existing_file(text: str) -> str:
    return text if text == "" else existing_file(text)


def optional_existing_dir(text: str) -> str:
    return text if text == "" else existing_dir(text)


def output_dir(text: str) -> str:
    """A folder to write into: an existing directory, or a new one whose parent exists."""
    if text.strip() == "":
        raise _Bad("must be a non-empty path to a directory")
    st = _stat(text)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise _Bad(f"{_short(text)} is a file, not a directory")
    parent = pathlib.Path(text).absolute().parent
    parent_st = _stat(str(parent))
    if st is None and (parent_st is None or not stat.S_ISDIR(parent_st.st_mode)):
        raise _Bad(f"{_short(text)}: its parent {parent} does not exist" + (" or is a file" if parent_st else ""))
    return text


def workdir_path(text: str) -> str:
    """A run's workdir: a non-empty path that is not a file and can be a folder's name (the trainer
    checks the rest)."""
    if text.strip() == "":
        raise _Bad("must be a non-empty path (it holds the run's checkpoints and logs)")
    st = _stat(text)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise _Bad(f"{_short(text)} is a file, not a directory")
    longest = max(len(os.fsencode(part)) for part in pathlib.Path(text).parts)
    if longest > _NAME_MAX:
        raise _Bad(f"{_short(text)}: a folder name of {longest} bytes is too long for the file system (at most "
                   f"{_NAME_MAX})")
    return text


_NAME_MAX = 255  # bytes in one path component on Linux and macOS file systems


def coordinator_address(text: str) -> str:
    """``HOST:PORT`` of process 0 of a multi-process run: a host and a port in [1, 65535]."""
    host, sep, port = text.rpartition(":")
    if not sep or not host.strip():
        raise _Bad(f"{text!r} is not HOST:PORT (e.g. localhost:1234 or 10.0.0.1:1234)")
    try:
        number = int(port)
    except ValueError:
        raise _Bad(f"{text!r}: port {port!r} is not an integer") from None
    if not 1 <= number <= 65535:
        raise _Bad(f"{text!r}: port {number} is out of range: must be an integer in [1, 65535]")
    return text


# The driver module for a URL scheme, and how to install it (plain postgresql:// and postgres:// use
# psycopg 3, lectarch's `postgres` extra: lectarch.sweep.storage.database_url).
_DRIVERS = {
    "postgresql": "psycopg", "postgres": "psycopg", "postgresql+psycopg2": "psycopg2", "postgresql+psycopg": "psycopg",
    "postgresql+pg8000": "pg8000", "mysql": "MySQLdb", "mysql+mysqldb": "MySQLdb", "mysql+pymysql": "pymysql",
}
_INSTALL = {"psycopg2": "psycopg2-binary", "psycopg": "'lectarch[postgres]' (psycopg 3)", "pg8000": "pg8000",
            "MySQLdb": "mysqlclient", "pymysql": "pymysql"}
STORAGE_FORMS = "sqlite:///PATH, postgresql://USER:PW@HOST/DB, mysql+pymysql://..., or journal:PATH"


def storage_url(text: str) -> str:
    """An Optuna storage: ``sqlite:///PATH``, a PostgreSQL or MySQL URL (its driver must be
    installed) or ``journal:PATH`` (a journal file). A file storage's folder is checked when the
    storage is opened (``lectarch.sweep.storage.make_storage``), after the sweep has made its workdir,
    so the storage may live in the workdir a first worker creates."""
    if text.startswith("journal:"):
        path = pathlib.Path(text.removeprefix("journal:"))
        if not str(path).strip() or path.is_dir():
            raise _Bad(f"{text!r}: journal:PATH needs the path of a file")
        return text
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise _Bad(f"{text!r} is not a storage URL; use {STORAGE_FORMS}")
    if scheme == "sqlite":
        path = rest.removeprefix("/")
        if path in ("", ":memory:"):
            raise _Bad(f"{text!r}: an in-memory database cannot be shared or resumed; give a file path")
        return text
    if scheme not in _DRIVERS:
        raise _Bad(f"{text!r}: unknown storage scheme {scheme!r}; use {STORAGE_FORMS}")
    module = _DRIVERS[scheme]
    if importlib.util.find_spec(module) is None:
        raise _Bad(f"{text!r} needs the database driver {module!r}, which is not installed: "
                   f"pip install {_INSTALL[module]}")
    return text


__all__ = ["coordinator_address", "existing_dir", "existing_file", "finite_float", "int_range", "non_negative_float", "non_negative_int",
           "optional_existing_dir", "output_dir", "positive_int", "positive_int_list", "storage_url",
           "workdir_path"]
