"""XLA flags of every process the tests start: 8 host devices, and XLA's quicker CPU code generation.

The suite compiles some two thousand small programs and runs most of them a few times, so XLA's
compile time is most of its time. Two flags about halve it:
``--xla_backend_optimization_level=0`` (LLVM at -O0) and ``--xla_cpu_use_fusion_emitters=false``
(XLA's older, simpler emitters for fused loops). Both act below XLA's own (HLO) passes, so the
fusions, layouts, buffer assignment and memory analysis the tests check are the ones users get;
values agree with a user's run to float rounding, and every comparison inside the suite runs both
sides under the same flags.
"""

COMPILE_FAST = "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"


def flags(devices: int) -> str:
    return f"--xla_force_host_platform_device_count={devices} {COMPILE_FAST}"
