"""Every test sees 8 CPU devices, so single-device assumptions fail here and not in a user's run
(and XLA's quicker code generation: ``tests/xla_flags.py``),
silent rank promotion is an error and dtype promotion is strict (as in Equinox's test suite): an
implicit float32 + bfloat16 or int + float is an error here, not a silent upcast in a user's run."""

import os

from tests import xla_flags

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + xla_flags.flags(8)).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

from lectarch.train import xla_cpu  # noqa: E402

xla_cpu.apply()  # XLA's CPU settings of lectarch's command line, in the test process too

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from tests.shared_runs import shared_compilation_cache  # noqa: E402, F401 - autouse: one cache per test run


def pytest_collection_modifyitems(config, items):
    """Tests marked ``users_codegen`` run in the child pytest of tests/train/test_users_codegen.py."""
    if xla_flags.USERS_CODEGEN:
        return
    skip = pytest.mark.skip(reason="bit for bit under the users' XLA code generation: run by "
                                   "tests/train/test_users_codegen.py in a child pytest")
    for item in items:
        if "users_codegen" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def repo_root() -> str:
    return REPO
