"""Small helpers shared by tests: configs from files, CLI subprocesses with 8 CPU devices."""

import os
import subprocess
import sys

from lectarch.experiment import load_config
from tests import xla_flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def config(name: str, *overrides: str):
    """``experiments/configs/<name>.py`` with ``KEY=VALUE`` overrides, validated."""
    return load_config(os.path.join(REPO, "experiments", "configs", f"{name}.py"), list(overrides))


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
