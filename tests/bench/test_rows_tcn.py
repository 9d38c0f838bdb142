"""The TCN benchmark rows: the LSTM row really has the TCN's parameter count, and the rows run."""

import json
import subprocess
import sys

from experiments.bench.rows import tcn as rows
from tests.helpers import REPO, cli_env


def test_the_lstm_row_has_the_tcns_parameter_count_within_two_percent():
    T, C, L = 400, 24, 7
    n_tcn = rows._num_params(rows._config("tcn", T, C, L), T)
    h = rows.lstm_width_matching(T, C, L)
    n_lstm = rows._num_params(rows._config("lstm", T, h, L), T)
    assert abs(n_lstm - n_tcn) / n_tcn < 0.02, (n_tcn, h, n_lstm)
    assert rows._num_params(rows._config("lstm", T, h + 2, L), T) > n_tcn  # and no larger size is closer


def test_bench_runs_the_tcn_rows(tmp_path):
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, "-m", "experiments.bench", "--only", "tcn", "--quick", "--no-torch", "--json",
                        str(out)], cwd=REPO, env=cli_env(1), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    impls = {row["impl"] for row in json.loads(out.read_text())["rows"]}
    assert impls == {"lectarch", "lectarch LSTM, equal params"}
