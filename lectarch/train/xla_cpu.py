"""XLA's CPU settings lectarch runs with: each a flag added to ``XLA_FLAGS`` on the CPU backend.

1. **Convolutions on XLA's own kernels, matrix products on YNNPACK.** jaxlib 0.10's CPU compiler
   hands both dots and convolutions to the YNNPACK library. ``--xla_cpu_experimental_ynn_fusion_type=
   -individual_convolution`` keeps the dots there and sends convolutions (above all their
   gradients) to XLA's own (Eigen) kernels, which were the faster ones on the CPUs measured:
   experiments/results/bench/directions_cpu.md against directions_cpu_xla_default.md, and
   xla_flags_cpu.md for the dots.
2. **Rematerialisation that saves memory** (``model.remat``). ``jax.checkpoint`` marks the inputs of
   a block's recomputation with an optimisation barrier so that XLA cannot merge the recomputation
   with the forward pass. XLA's CPU pipeline expands those barriers away first thing
   (its ``cse_barrier_expander`` pass), common-subexpression elimination then merges the two, and
   the activations stay alive until the backward pass, as without remat.
   ``--xla_disable_hlo_passes=cse_barrier_expander`` keeps the barriers, so the CPU recomputes
   each block as a GPU or TPU does and the peak that XLA's memory analysis reports drops
   (tests/models/test_remat.py). Programs without remat have no barriers and do not change.

``apply()`` adds each flag to ``XLA_FLAGS`` unless ``XLA_FLAGS`` already names it (yours wins) or
``LECTARCH_XLA_FLAGS=default``. XLA reads ``XLA_FLAGS`` once, when JAX starts its CPU backend, so
call it before the first computation, and only where the backend will be the CPU:
``lectarch.runtime.configure()`` does both (the command line, the notebooks and the bench call it
first thing). The flags exist from jaxlib 0.10 on (an unknown flag stops XLA), so older jaxlibs are
left alone.
"""

import importlib.metadata
import os

CONVOLUTIONS = "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution"
REMAT = "--xla_disable_hlo_passes=cse_barrier_expander"
SETTINGS = (CONVOLUTIONS, REMAT)
FIRST_JAXLIB = (0, 10)


def _jaxlib_version() -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in importlib.metadata.version("jaxlib").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return (0, 0)


def apply() -> str:
    """Add each of ``SETTINGS`` to ``XLA_FLAGS`` where it applies; returns ``XLA_FLAGS`` as it now is."""
    if os.environ.get("LECTARCH_XLA_FLAGS", "lectarch") == "default" or _jaxlib_version() < FIRST_JAXLIB:
        return os.environ.get("XLA_FLAGS", "")
    for setting in SETTINGS:
        flags = os.environ.get("XLA_FLAGS", "")
        if setting.split("=")[0] not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} {setting}".strip()
    return os.environ.get("XLA_FLAGS", "")


__all__ = ["CONVOLUTIONS", "REMAT", "SETTINGS", "apply"]
