"""A throwaway PostgreSQL cluster for tests: ``initdb`` in a temporary folder, listening on
127.0.0.1 at a free port, always stopped and removed. ``initdb`` and ``pg_ctl`` refuse to run as
root, so as root they run as the ``postgres`` user, who owns the folder."""

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

from tests.servers import free_port


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def postgres_server(timeout_s: int = 60):
    """Yields ``postgresql://postgres@127.0.0.1:PORT/postgres``; skips the test if PostgreSQL is absent."""
    if not (shutil.which("initdb") and shutil.which("pg_ctl")):
        pytest.skip("PostgreSQL (initdb, pg_ctl) is not installed")
    root = tempfile.mkdtemp(prefix="lectarch-pg-")  # not under pytest's root-only tmp folder
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    data, port = os.path.join(root, "data"), free_port()
    run = lambda cmd: subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=timeout_s)  # noqa: E731
    started = False
    try:
        r = run(["initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
        assert r.returncode == 0, r.stderr
        options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} -c fsync=off"
        r = run(["pg_ctl", "-D", data, "-l", os.path.join(root, "server.log"), "-w", "-t", str(timeout_s),
                 "-o", options, "start"])
        started = r.returncode == 0
        assert started, r.stderr + r.stdout
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            run(["pg_ctl", "-D", data, "-m", "immediate", "-w", "-t", str(timeout_s), "stop"])
        shutil.rmtree(root, ignore_errors=True)
