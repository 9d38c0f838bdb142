"""The tests marked ``users_codegen`` (two programs equal bit for bit), run in a child pytest under
the XLA code generation users get: the suite's quicker code generation is off there
(tests/xla_flags.py)."""

import os
import subprocess
import sys

from tests.helpers import REPO

MARKED = ["tests/train/test_step.py"]


def test_the_bit_for_bit_tests_pass_under_the_users_code_generation():
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "PYTEST_XDIST_WORKER")}
    env.update(LECTARCH_TESTS_CODEGEN="users", PYTEST_ADDOPTS="")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                        "-m", "users_codegen", *MARKED], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "3 passed" in r.stdout, r.stdout[-500:]
