"""Small helpers shared by tests: configs from files, CLI subprocesses with 8 CPU devices."""

import os
import subprocess
import sys

from lectarch.experiment import load_config
from tests import xla_flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The overrides of a run that is about neither the device count nor pictures: one of the 8 devices the
# test processes see (sharding a few steps over 8 only adds compile time; restores across device counts
# are tests/train/test_prng.py's and test_distributed.py's) and no pictures at its evals (tests/viz and
# tests/cli/test_visualize.py check those). A test that needs either says so after LEAN: a later
# override wins.
LEAN = ("num_devices=1", "pictures=false")


def config(name: str, *overrides: str):
    """``experiments/configs/<name>.py`` with ``KEY=VALUE`` overrides, validated."""
    return load_config(os.path.join(REPO, "experiments", "configs", f"{name}.py"), list(overrides))


def flags(overrides) -> list[str]:
    """``KEY=VALUE`` overrides as the command line's ``--config.KEY=VALUE``."""
    return [f"--config.{o}" for o in overrides]


def cli_env(devices: int = 8) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = xla_flags.flags(devices)
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def lectarch(*args: str, devices: int = 8, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Run ``python -m lectarch ARGS`` and capture its output."""
    return subprocess.run([sys.executable, "-m", "lectarch", *args], cwd=REPO, env=cli_env(devices),
                          capture_output=True, text=True, timeout=timeout, **kw)
