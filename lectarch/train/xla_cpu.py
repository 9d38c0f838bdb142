"""XLA's CPU settings lectarch runs with: convolutions on XLA's own kernels, matrix products on YNNPACK.

jaxlib 0.10's CPU compiler hands both dots and convolutions to the YNNPACK library. This keeps the
dots there and sends convolutions (above all their gradients) to XLA's own (Eigen) kernels, which
were the faster ones on the CPUs measured: experiments/results/bench/directions_cpu.md against
directions_cpu_xla_default.md, and xla_flags_cpu.md for the dots.

``apply()`` adds ``--xla_cpu_experimental_ynn_fusion_type=-individual_convolution`` to
``XLA_FLAGS``, unless ``XLA_FLAGS`` already names that flag (yours wins) or
``LECTARCH_XLA_FLAGS=default``. XLA reads ``XLA_FLAGS`` once, when JAX starts its CPU backend, so
call it before the first computation, and only where the backend will be the CPU:
``lectarch.runtime.configure()`` does both (the command line, the notebooks and the bench call it
first thing). The flag exists from
jaxlib 0.10 on (an unknown flag stops XLA), so older jaxlibs are left alone.
"""

import importlib.metadata
import os

FLAG = "--xla_cpu_experimental_ynn_fusion_type"
SETTING = f"{FLAG}=-individual_convolution"
FIRST_JAXLIB = (0, 10)


def _jaxlib_version() -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in importlib.metadata.version("jaxlib").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return (0, 0)


def apply() -> str:
    """Add ``SETTING`` to ``XLA_FLAGS`` where it applies; returns ``XLA_FLAGS`` as it now is."""
    flags = os.environ.get("XLA_FLAGS", "")
    if (os.environ.get("LECTARCH_XLA_FLAGS", "lectarch") != "default" and FLAG not in flags
            and _jaxlib_version() >= FIRST_JAXLIB):
        os.environ["XLA_FLAGS"] = f"{flags} {SETTING}".strip()
    return os.environ.get("XLA_FLAGS", "")


__all__ = ["SETTING", "apply"]
