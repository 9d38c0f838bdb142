"""``optuna-dashboard`` (extra ``dashboard``) serves a sweep's study from each storage lectarch
writes: SQLite, a journal file and PostgreSQL, with the commands docs/sweeps.md gives."""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import optuna
import pytest

from lectarch.sweep.optuna_sweep import make_storage
from tests.sweep.postgres_server import postgres_server
from tests.servers import free_port, stop


def _get(url: str, timeout_s: float = 60.0) -> tuple[int, bytes]:
    """GET ``url`` until the server answers (bounded wait)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _serve_and_check(lectarch_storage: str, dashboard_storage: str) -> None:
    study = optuna.create_study(study_name="lr-sweep", storage=make_storage(lectarch_storage))
    study.optimize(lambda t: (t.suggest_float("learning_rate", 1e-4, 1e-1, log=True) - 0.01) ** 2, n_trials=3)
    program = os.path.join(os.path.dirname(sys.executable), "optuna-dashboard")
    port = free_port()
    server = subprocess.Popen([program, dashboard_storage, "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        status, body = _get(f"{base}/api/studies")
        assert status == 200, body
        (summary,) = [s for s in json.loads(body)["study_summaries"] if s["study_name"] == "lr-sweep"]
        status, body = _get(f"{base}/api/studies/{summary['study_id']}")
        assert status == 200 and len(json.loads(body)["trials"]) == 3
        status, page = _get(f"{base}/dashboard/studies/{summary['study_id']}")
        assert status == 200 and b"<html" in page.lower()
    finally:
        stop(server)


def test_dashboard_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    _serve_and_check(url, url)


def test_dashboard_on_a_journal_file(tmp_path):
    path = tmp_path / "study.journal"
    _serve_and_check(f"journal:{path}", str(path))


@pytest.mark.slow
def test_dashboard_on_postgresql():
    with postgres_server() as url:
        _serve_and_check(url, url.replace("postgresql://", "postgresql+psycopg://", 1))
