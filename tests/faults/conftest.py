"""The runs that fault tests share (trained once per test run, xdist workers included)."""

from tests.faults.checkpoint_runs import mlp_30_losses, mlp_run  # noqa: F401 - fixtures
from tests.faults.common import tiny_losses  # noqa: F401 - fixture
