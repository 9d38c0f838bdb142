import json
import subprocess
import sys

from tests.helpers import REPO, cli_env


def test_bench_times_lectarch_beside_its_peers_and_reports_ratios(tmp_path):
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, "experiments/bench.py", "--only", "mlp", "--quick", "--no-torch", "--json", str(out)],
                       cwd=REPO, env=cli_env(1), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    rows = data["rows"]
    impls = {row["impl"] for row in rows}
    assert {"lectarch", "plain JAX"} <= impls
    for row in rows:
        assert row["ms_per_step"] > 0 and row["compile_s"] > 0 and row["speedup_of_lectarch"] > 0
    assert "| work | implementation |" in r.stdout
    bad = subprocess.run([sys.executable, "experiments/bench.py", "--only", "nosuch"], cwd=REPO, env=cli_env(1),
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "unknown row module" in bad.stderr
