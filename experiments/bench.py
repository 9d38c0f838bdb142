"""Time one training step of each piece of work, lectarch beside its peers, interleaved in rounds.

    python experiments/bench.py [--only recurrent,alexnet] [--match f32] [--rounds 20] [--threads N]
                                [--json out.json] [--md out.md] [--quick] [--no-torch]

Cases that share a ``work`` (one row module's piece of work) are compared in the same run. After
each case is built, compiled and warmed up, the bench times them in rounds: A B C, A B C, ... so a
change of machine load during the run hits every implementation alike. Per implementation it
reports the median step time and the spread (25th to 75th percentile); per peer the ratio
``peer time / lectarch time`` of each round and their median (``speedup`` >= 1.0 means lectarch is
at least as fast).

Each turn in a round starts with ``--lead-in`` (default 1) untimed steps. Without them the
interleaving itself biases the figures: PyTorch's OpenMP threads keep spinning for a while after
its step, so the next implementation's first milliseconds share the cores with them (a
1024x256x1024 GEMM: 3.03 ms alone in JAX and in PyTorch, 5.6 ms in JAX right after a PyTorch one,
measured). A training loop runs its steps back to back; the lead-in step gives each turn that state.

``--threads N`` (default: all cores) gives every implementation the same N threads: before JAX or
PyTorch is imported the process is pinned to N cores (``os.sched_setaffinity``, which sizes XLA's
CPU thread pool), ``XLA_FLAGS`` gets ``--xla_cpu_multi_thread_eigen=false`` and
``intra_op_parallelism_threads=1`` when N is 1, and PyTorch gets ``set_num_threads(N)`` and
``set_num_interop_threads(N)`` (``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` too). The JSON records
these settings, the versions, the load average before and after, and the CPU time that other
processes used during the run; the output warns when that load makes the figures unreliable.

``--xla lectarch`` (the default) gives every JAX implementation the XLA CPU flags that
``lectarch``'s command line sets (``lectarch.train.xla_cpu``: convolutions on XLA's own kernels);
``--xla default`` leaves jaxlib's. PyTorch does not read them.

``--malloc keep`` applies ``lectarch.train.host_allocator.keep_freed_memory`` (what ``lectarch``'s
command line does) to the whole bench process, so PyTorch gets the same allocator; the default
``--malloc default`` leaves glibc's settings, as a plain PyTorch or JAX script runs. The JSON and the
Markdown header record which.

GPU cases run only when JAX sees a GPU; PyTorch cases only when torch imports (``.[bench]``).
``--only`` takes row module names (``experiments/benchrows/*.py``) or dotted module paths of any
module with a ``cases(args)`` function.
"""

import argparse
import importlib
import json
import os
import pathlib
import pkgutil
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from experiments import benchrows  # noqa: E402
from experiments.results_file import Measurement, write_results  # noqa: E402

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


# --- cases and rounds ---------------------------------------------------------------------------

def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def collect(args) -> list:
    names = [m.name for m in pkgutil.iter_modules(benchrows.__path__)]
    wanted = args.only.split(",") if args.only else names
    unknown = sorted(w for w in wanted if w not in names and "." not in w)
    if unknown:
        raise SystemExit(f"bench: unknown row module(s) {unknown}; known: {names} (or a dotted module path)")
    cases = []
    for name in wanted:
        module = importlib.import_module(name if "." in name else f"experiments.benchrows.{name}")
        cases += module.cases(args)
    return cases


def _percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    pos = q * (len(xs) - 1)
    lo, hi = int(pos), min(int(pos) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def time_group(group: list, rounds: int, warmup: int, order: list | None = None, lead_in: int = 1) -> list[dict]:
    """Build, compile and warm up every case of one work, then time them interleaved in rounds.

    Each implementation's turn starts with ``lead_in`` untimed steps: the previous implementation's
    runtime (PyTorch's OpenMP threads spin after their work) has gone quiet and this one's thread
    pool is awake when the timed step starts, as in a training loop, where steps run back to back.

    ``order``, if given, receives the implementation name of every timed step in the order run.
    """
    steps, compile_s = [], []
    for case in group:
        t0 = time.perf_counter()
        step = case.setup()
        step()
        compile_s.append(time.perf_counter() - t0)
        for _ in range(warmup):
            step()
        steps.append(step)
    times: list[list[float]] = [[] for _ in group]
    for _ in range(rounds):
        for i, (case, step) in enumerate(zip(group, steps)):
            for _ in range(lead_in):
                step()
            t = time.perf_counter()
            step()
            times[i].append(time.perf_counter() - t)
            if order is not None:
                order.append(case.impl)
    ref = next((i for i, c in enumerate(group) if c.impl == "lectarch"), None)
    rows = []
    for i, case in enumerate(group):
        ms = [1e3 * t for t in times[i]]
        row = {"work": case.work, "impl": case.impl, "device": case.device, "ms_per_step": statistics.median(ms),
               "ms_p25": _percentile(ms, 0.25), "ms_p75": _percentile(ms, 0.75), "ms_min": min(ms),
               "ms_max": max(ms), "compile_s": compile_s[i], "rounds": rounds, "ms_rounds": ms}
        if case.flops:
            row["tflops"] = case.flops / (row["ms_per_step"] / 1e3) / 1e12
        if ref is not None:
            ratios = [a / b for a, b in zip(times[i], times[ref])]
            row["speedup_of_lectarch"] = statistics.median(ratios)
            row["speedup_p25"], row["speedup_p75"] = _percentile(ratios, 0.25), _percentile(ratios, 0.75)
        rows.append(row)
    return rows


def run(args, order: list | None = None) -> list[dict]:
    import jax

    has_gpu = any(d.platform == "gpu" for d in jax.devices())
    has_torch = _torch_available() and not args.no_torch
    groups: dict[str, list] = {}
    match = [m for m in args.match.split(",") if m]
    for case in collect(args):
        if match and not any(m in case.work for m in match):
            continue
        if args.device != "all" and case.device != args.device:
            continue
        if case.device == "gpu" and not has_gpu:
            continue
        if case.impl == "PyTorch" and not has_torch:
            print(f"skip  {case.work} / PyTorch (torch not installed: pip install -e '.[bench]')", file=sys.stderr)
            continue
        groups.setdefault(case.work, []).append(case)
    rows = []
    for work, group in groups.items():
        rounds = min([args.rounds] + [c.repeats for c in group if c.repeats])
        for row in time_group(group, rounds, args.warmup, order, args.lead_in):
            sp = f"{row['speedup_of_lectarch']:.2f}x" if row["impl"] != "lectarch" and "speedup_of_lectarch" in row else ""
            print(f"  {work:<58} {row['impl']:<26} {row['ms_per_step']:10.3f} ms  {sp}", file=sys.stderr)
            rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| work | implementation | device | ms/step (median) | spread p25-p75 | compile s | TFLOP/s "
             "| lectarch speedup (median of rounds) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        tf = f"{r['tflops']:.3f}" if "tflops" in r else ""
        sp = (f"{r['speedup_of_lectarch']:.2f}x ({r['speedup_p25']:.2f}-{r['speedup_p75']:.2f})"
              if "speedup_of_lectarch" in r and r["impl"] != "lectarch" else "")
        lines.append(f"| {r['work']} | {r['impl']} | {r['device']} | {r['ms_per_step']:.2f} | "
                     f"{r['ms_p25']:.2f}-{r['ms_p75']:.2f} | {r['compile_s']:.2f} | {tf} | {sp} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default="", help="comma-separated row modules (experiments/benchrows/*.py) or module paths")
    p.add_argument("--match", default="", help="comma-separated substrings: keep only work whose label contains one")
    p.add_argument("--device", default="all", choices=("all", "cpu", "gpu"), help="keep only the cases of one device")
    p.add_argument("--rounds", "--repeats", type=int, default=20, help="timed rounds (each times every implementation once)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--lead-in", type=int, default=1,
                   help="untimed steps at the start of each implementation's turn in a round (default 1)")
    p.add_argument("--threads", type=int, default=0, help="threads for every implementation (default: all cores)")
    p.add_argument("--json", default="", help="also write the facts and rows as JSON to this file")
    p.add_argument("--md", default="", help="also write a Markdown results file (header with date, command, load)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch rows")
    p.add_argument("--quick", action="store_true", help="smallest sizes and few rounds (smoke test)")
    p.add_argument("--xla", default="lectarch", choices=("lectarch", "default"),
                   help="lectarch: XLA's CPU flags as lectarch's command line sets them (lectarch.train.xla_cpu), "
                        "for every JAX implementation; default: jaxlib's own")
    p.add_argument("--malloc", default="default", choices=("default", "keep"),
                   help="keep: lectarch's allocator settings for every implementation (lectarch.train.host_allocator)")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.warmup = min(args.rounds, 3), 1
    if args.rounds < 1:
        print("bench: --rounds must be at least 1", file=sys.stderr)
        return 2
    if args.lead_in < 0:
        print("bench: --lead-in must be 0 or more", file=sys.stderr)
        return 2
    try:
        threads = apply_threads(args.threads or (os.cpu_count() or 1))
    except ValueError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    if args.xla == "lectarch":
        from lectarch.train import xla_cpu

        threads["XLA_FLAGS"] = xla_cpu.apply()
    if args.malloc == "keep":
        from lectarch.train.host_allocator import keep_freed_memory

        threads["malloc"] = keep_freed_memory() or "default (not glibc, or LECTARCH_MALLOC=default)"
    else:
        threads["malloc"] = "default"
    measurement, probe = Measurement(), LoadProbe()
    import jax

    if _torch_available() and not args.no_torch:
        threads.update(torch_threads(threads["threads"]))
    rows = run(args)
    load = probe.finish(threads["threads"])
    meta = dict(measurement.facts(), backend=jax.default_backend(), devices=[str(d) for d in jax.devices()],
                threads=threads, load=load)
    for w in load["warnings"]:
        print(f"WARNING: {w}", file=sys.stderr)
    if args.json:
        pathlib.Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    body = table(rows)
    if args.md:
        notes = [f"- threads: {threads}",
                 f"- other processes' load during the run: {load['others_load']:.2f} cores busy on average"
                 if load["others_load"] is not None else "- other processes' load: unknown"]
        notes += [f"- **WARNING: {w}**" for w in load["warnings"]]
        write_results(args.md, "Training-step benchmark (interleaved rounds)", "\n".join(notes) + "\n\n" + body,
                      measurement)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
