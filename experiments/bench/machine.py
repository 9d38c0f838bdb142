"""What the bench sets and watches on its machine: threads for every implementation, and the load.

``apply_threads(n)`` must run before JAX or PyTorch is imported; ``LoadProbe`` measures the other
processes' CPU time between its creation and ``finish()``.
"""

import os
import pathlib
import time

UNRELIABLE_LOAD_PER_CORE = 0.5  # other processes' average load per core above which we warn


# --- threads: set before JAX or PyTorch is imported -------------------------------------------

def apply_threads(n: int) -> dict:
    """Give this process (XLA and PyTorch alike) ``n`` threads; return the settings made."""
    cores = os.cpu_count() or 1
    if not 1 <= n <= cores:
        raise ValueError(f"--threads {n}: must be between 1 and the {cores} cores of this machine")
    settings = {"threads": n, "cores": cores}
    if hasattr(os, "sched_setaffinity") and n < cores:
        allowed = sorted(os.sched_getaffinity(0))[:n]
        os.sched_setaffinity(0, allowed)
        settings["affinity"] = allowed
    if n == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    settings["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "")
    return settings


def torch_threads(n: int) -> dict:
    import torch

    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:  # only settable before torch's first parallel work
        pass
    return {"torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads()}


# --- load: other processes' CPU time during the run --------------------------------------------

def _busy_seconds() -> float | None:
    """Busy CPU seconds of the whole machine since boot (Linux ``/proc/stat``), else None."""
    try:
        fields = [int(v) for v in pathlib.Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class LoadProbe:
    """Load average before/after and the other processes' average load (cores busy) in between."""

    def __init__(self):
        self.loadavg_before = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
        self.t0, self.busy0, self.own0 = time.perf_counter(), _busy_seconds(), _own_seconds()

    def finish(self, threads: int) -> dict:
        wall = time.perf_counter() - self.t0
        busy = _busy_seconds()
        others = None
        if busy is not None and self.busy0 is not None and wall > 0:
            others = max(0.0, (busy - self.busy0) - (_own_seconds() - self.own0)) / wall
        after = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
        cores = os.cpu_count() or 1
        facts = {"loadavg_before": self.loadavg_before, "loadavg_after": after, "wall_s": wall,
                 "others_load": others, "cores": cores, "warnings": []}
        limit = UNRELIABLE_LOAD_PER_CORE * cores
        if others is not None and others > limit:
            facts["warnings"].append(f"other processes kept {others:.2f} cores busy on average during the run "
                                     f"(> {limit:.1f} = {UNRELIABLE_LOAD_PER_CORE} per core): figures unreliable")
        if self.loadavg_before and self.loadavg_before[0] > limit:
            facts["warnings"].append(f"1-minute load average {self.loadavg_before[0]:.2f} before the run "
                                     f"(> {limit:.1f}): figures unreliable")
        if after and after[0] - threads > limit:
            facts["warnings"].append(f"1-minute load average {after[0]:.2f} after the run, {after[0] - threads:.2f} "
                                     f"beyond the bench's {threads} threads (> {limit:.1f}): figures unreliable")
        return facts
