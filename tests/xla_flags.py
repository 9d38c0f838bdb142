"""XLA flags of every process the tests start: 8 host devices, and XLA's quicker CPU code generation.

The suite compiles some two thousand small programs and runs most of them a few times, so XLA's
compile time is most of its time. Two flags about halve it:
``--xla_backend_optimization_level=0`` (LLVM at -O0) and ``--xla_cpu_use_fusion_emitters=false``
(XLA's older, simpler emitters for fused loops). Both act below XLA's own (HLO) passes, so the
fusions, layouts, buffer assignment and memory analysis the tests check are the ones users get;
values agree with a user's run to float rounding, and every comparison inside the suite runs both
sides under the same flags.

Two programs that lectarch promises to be equal bit for bit (the lean and the logging train step)
are equal under the users' code generation, not under this one. Their tests carry the marker
``users_codegen`` and run in a child pytest with ``LECTARCH_TESTS_CODEGEN=users``, which leaves
these flags out (tests/train/test_users_codegen.py).
"""

import os

COMPILE_FAST = "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"
USERS_CODEGEN = os.environ.get("LECTARCH_TESTS_CODEGEN") == "users"


def flags(devices: int) -> str:
    fast = "" if USERS_CODEGEN else f" {COMPILE_FAST}"
    return f"--xla_force_host_platform_device_count={devices}{fast}"
