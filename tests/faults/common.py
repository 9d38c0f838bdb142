"""What every fault test checks: exit code, one line on stderr naming the cause, no traceback."""

import contextlib
import io
import json
import pathlib

import pytest

from lectarch.cli import main
from tests.helpers import LEAN, REPO, flags
from tests.shared_runs import shared_folder

MLP = str(pathlib.Path(REPO) / "experiments" / "configs" / "mlp_digits.py")
CNN = str(pathlib.Path(REPO) / "experiments" / "configs" / "cnn_digits.py")
# A run of a few fast steps (a test that needs pictures or devices says so after TINY)
TINY = flags(("num_steps=6", "log_every=2", "eval_every=6", "checkpoint_every=2", "batch_size=16", "model.width=16",
              "progress=false", *LEAN))


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``lectarch ARGV`` in this process: (exit code, stdout, stderr); argparse's exits included."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def error_lines(stderr: str) -> list[str]:
    """The lines of ``stderr`` that are lectarch's error message (warnings and progress left out)."""
    return [line for line in stderr.splitlines() if line.startswith("lectarch") and ": error: " in line]


def assert_one_line_error(code: int, stderr: str, *phrases: str, exit_code: int = 2) -> str:
    assert code == exit_code, (code, stderr)
    assert "Traceback" not in stderr, stderr
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    for phrase in phrases:
        assert phrase in lines[0], (phrase, lines[0])
    return lines[0]


def snapshot(directory: pathlib.Path) -> dict[str, bytes]:
    """Every file under ``directory`` (relative path -> bytes) and every folder (-> b'<dir>')."""
    return {str(p.relative_to(directory)): (b"<dir>" if p.is_dir() else p.read_bytes())
            for p in sorted(directory.rglob("*"))}


def train_losses(workdir: pathlib.Path) -> dict[int, float]:
    rows = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines() if x.strip()]
    return {r["step"]: r["loss"] for r in rows if r["split"] == "train"}


def _train_tiny(workdir: pathlib.Path) -> None:
    code, _, err = run_cli("train", "--config", MLP, "--workdir", str(workdir), *TINY)
    assert code == 0, err


@pytest.fixture(scope="session")
def tiny_losses(tmp_path_factory) -> dict[int, float]:
    """The losses of the ``TINY`` run of ``MLP`` never interrupted (trained once per test run)."""
    return train_losses(shared_folder(tmp_path_factory, "mlp_tiny_cli", _train_tiny))
