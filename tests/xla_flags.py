"""XLA flags of every process the tests start: 8 host devices, and LLVM's code generation at -O0.

The suite compiles some two thousand small programs and runs most of them a few times, so XLA's
compile time is most of its time; ``--xla_backend_optimization_level=0`` compiles the CPU programs
about a third faster and leaves XLA's own (HLO) passes, and so its fusions, layouts, buffer
assignment and memory analysis, as users get them. The values the tests check are the same to
float rounding, and every comparison inside the suite runs both sides under the same flags.
"""

COMPILE_FAST = "--xla_backend_optimization_level=0"


def flags(devices: int) -> str:
    return f"--xla_force_host_platform_device_count={devices} {COMPILE_FAST}"
