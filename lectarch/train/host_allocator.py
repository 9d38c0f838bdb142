"""Keep freed host memory for the next step (glibc malloc), so XLA's CPU buffers stop page-faulting.

XLA's CPU client allocates the temporaries of each execution as one block (the AlexNet training
step's is hundreds of MB) and frees it when the step ends. glibc serves a block above 32 MB, or one
that a thread's own arena cannot hold, with a fresh ``mmap`` and hands it back with ``munmap``, so
every step the kernel faults in and zeroes the whole block again (the bench records the
setting it ran with: experiments/results/bench/bench_cpu.md).

``keep_freed_memory()`` sets three ``mallopt`` parameters for the whole process:

    M_ARENA_MAX = 1            one heap for all threads (a thread arena's heap tops out at 64 MB)
    M_MMAP_MAX = 0             no block gets its own mapping
    M_TRIM_THRESHOLD = 2 GiB   freed memory stays with the process

so the next step reuses the block without faults (the bench's ``--malloc`` flag measures the
difference). The cost: the process keeps its high-water mark of host memory until it exits.
Call it before the first large allocation, on the CPU backend only: ``lectarch.runtime.configure()``
does (the command line, the notebooks and the bench call it first thing);
``LECTARCH_MALLOC=default`` turns it off; where the C library is not glibc it does nothing.
"""

import ctypes
import ctypes.util
import os
import platform

M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8
SETTINGS = {"M_ARENA_MAX": (M_ARENA_MAX, 1), "M_MMAP_MAX": (M_MMAP_MAX, 0),
            "M_TRIM_THRESHOLD": (M_TRIM_THRESHOLD, 2**31 - 1)}
_applied: dict[str, int] | None = None


def keep_freed_memory() -> dict[str, int]:
    """Apply ``SETTINGS`` once (glibc only, unless ``LECTARCH_MALLOC=default``); returns what was set."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = {}
    if os.environ.get("LECTARCH_MALLOC", "keep") == "default" or platform.libc_ver()[0] != "glibc":
        return _applied
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    for name, (param, value) in SETTINGS.items():
        if libc.mallopt(param, value) == 1:  # mallopt returns 1 on success
            _applied[name] = value
    return _applied


def applied() -> dict[str, int] | None:
    """What ``keep_freed_memory`` set in this process; ``None`` when it was never called."""
    return _applied


__all__ = ["SETTINGS", "applied", "keep_freed_memory"]
