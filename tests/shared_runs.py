"""Trained workdirs shared by every test of a test run: each is made once, under a file lock, in a
folder that all pytest-xdist workers of the test run see; tests read it or copy it, never change it.

Under xdist every worker's ``getbasetemp()`` is ``<run folder>/popen-gwN``, so the cache lives
in the run folder; without xdist it lives in the run's own basetemp. A new pytest run
gets a new run folder, so nothing is reused across runs (or across versions of the code).
"""

import fcntl
import os
import pathlib
import re
import shutil
from collections.abc import Callable

import pytest


def cache_root(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-runs"
    root.mkdir(exist_ok=True)
    return root


def shared_folder(tmp_path_factory: pytest.TempPathFactory, name: str,
                  make: Callable[[pathlib.Path], object]) -> pathlib.Path:
    """``<cache>/<name>``, filled by ``make(folder)`` the first time any worker asks for it.

    A ``make`` that raises leaves no folder behind: the next test that asks tries again (and
    reports the same failure), so one broken run fails the tests that need it and no others.
    """
    assert re.fullmatch(r"[\w.-]+", name), name
    root = cache_root(tmp_path_factory)
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, even if make() raises
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            make(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session", autouse=True)
def shared_compilation_cache(tmp_path_factory):
    """Every lectarch process of the test run (commands run in this process and every subprocess)
    shares one compilation cache of its own, never the user's ``~/.cache/lectarch/jax``: a test run
    starts as cold as on a fresh machine, and compiles each program once rather than once per
    process. A ``LECTARCH_COMPILATION_CACHE`` set by the caller (a directory, or ``off``) wins."""
    variable = "LECTARCH_COMPILATION_CACHE"
    if variable in os.environ:
        yield os.environ[variable]
        return
    os.environ[variable] = str(cache_root(tmp_path_factory) / "jax")
    yield os.environ[variable]
    del os.environ[variable]
