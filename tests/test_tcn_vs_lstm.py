"""python -m experiments.tcn_vs_lstm: a tiny run writes the table and curves; the guide shows the committed table."""

import json
import pathlib
import subprocess
import sys

from tests.helpers import REPO, cli_env


def test_a_tiny_run_writes_results_with_receptive_field_beside_T(tmp_path):
    r = subprocess.run([sys.executable, "-m", "experiments.tcn_vs_lstm", "--steps", "4", "--tasks", "digits",
                        "--models", "tcn,rnn", "--out", str(tmp_path), "--workdir", str(tmp_path / "runs")],
                       cwd=REPO, env=cli_env(1), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "results.md").read_text()
    assert "- command: `" in text and "- load average" in text
    assert "| digits | 64 | TCN (width 24) |" in text and "125 >= T" in text
    rows = json.loads((tmp_path / "results.json").read_text())
    assert [row["model"] for row in rows] == ["tcn", "rnn"]
    assert abs(rows[0]["params"] - rows[1]["params"]) / rows[0]["params"] < 0.05  # comparable sizes
    assert (tmp_path / "curves_digits.png").stat().st_size > 0


def test_the_guide_shows_the_committed_table_unchanged():
    results = (pathlib.Path(REPO) / "experiments/results/tcn/results.md").read_text()
    guide = (pathlib.Path(REPO) / "docs/cnn.md").read_text()
    table = [line for line in results.splitlines() if line.startswith("|")]
    assert len(table) >= 2 + 12 and "\n".join(table) in guide
