import re
import subprocess
import sys

from tests.helpers import REPO, cli_env


def _phase_ms(md: str, phase: str) -> float:
    return float(re.search(rf"^\| {re.escape(phase)} \| ([0-9.]+) \|", md, re.M).group(1))


def test_profile_splits_a_recurrent_step_into_forward_backward_and_update(tmp_path):
    out = tmp_path / "profile.md"
    r = subprocess.run([sys.executable, "-m", "experiments.bench.profile_steps", "--quick", "--rows", "lstm", "--steps", "1",
                        "--top", "40", "--out", str(out)], cwd=REPO, env=cli_env(1), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    md = out.read_text()
    assert md.startswith("# Where a CPU training step's time goes") and "load average (1 min)" in md
    assert "## lstm: LSTM, no peepholes" in md and "Top " in md
    forward, backward, total = (_phase_ms(md, p) for p in ("forward", "backward", "total"))
    assert forward > 0 and backward > 0 and total + 0.1 >= forward + backward  # each rounded to 0.1 ms in the table
    # the scan's matmuls are found and attributed: a forward one inside the loop body, a backward one
    lectarch_ops = md.split("single operations, lectarch:")[1].split("By kind")[0]
    assert re.search(r"\| forward \| [0-9.]+ \| [0-9.]+% \| [^|]*body[^|]*dot_general", lectarch_ops)
    assert re.search(r"\| backward \| [0-9.]+ \| [0-9.]+% \| [^|]*dot_general", lectarch_ops)


def test_profile_rejects_an_unknown_row():
    r = subprocess.run([sys.executable, "-m", "experiments.bench.profile_steps", "--rows", "nosuch"], cwd=REPO, env=cli_env(1),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown row" in r.stderr and "Traceback" not in r.stderr
