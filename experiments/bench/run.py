"""Time one training step of each piece of work, lectarch beside its peers, interleaved in rounds.

    python -m experiments.bench [--only recurrent,alexnet] [--match f32] [--rounds 20] [--threads N]
                                [--json out.json] [--md out.md] [--quick] [--no-torch]
    python -m experiments.bench --device gpu     # the GPU rows, results in experiments/results/bench/

Cases that share a ``work`` (one row module's piece of work) are compared in the same run. After
each case is built, compiled and warmed up, the bench times them in rounds: A B C, A B C, ... so a
change of machine load during the run hits every implementation alike. Per implementation it
reports the median step time and the spread (25th to 75th percentile); per peer the ratio
``peer time / lectarch time`` of each round and their median (``speedup`` >= 1.0 means lectarch is
at least as fast).

Each turn in a round starts with ``--lead-in`` (default 1) untimed steps, so every implementation
starts its timed step as in a training loop, where steps run back to back: the previous
implementation's runtime has gone quiet (PyTorch's OpenMP threads spin for a while after its
step) and this one's thread pool is awake.

``--threads N`` (default: all cores) gives every implementation the same N threads
(``experiments.bench.machine.apply_threads``, before JAX or PyTorch is imported). The results
record these settings, the versions, the load average before and after, and the CPU time that
other processes used during the run; the output warns when that load makes the figures unreliable.

The bench applies lectarch's process settings with ``lectarch.runtime.configure()`` (the call the
command line and the notebooks make), with the compilation cache off. On a CPU: ``--xla lectarch``
(the default) gives every JAX implementation the XLA CPU flag lectarch sets, ``--xla default``
leaves jaxlib's; ``--malloc keep`` gives the whole process (PyTorch too) lectarch's allocator
settings, ``--malloc default`` (the default) leaves glibc's, as a plain PyTorch or JAX script runs.

``--device gpu`` keeps the GPU cases; without ``--only`` it runs the row modules ``GPU_ROWS`` and,
without ``--md``/``--json``, writes ``experiments/results/bench/bench_gpu.{md,json}``. GPU cases
run only where JAX sees a GPU, except under ``--tiny``: the GPU rows at tiny shapes on whatever
device JAX has, which is how their logic is tested on a CPU. PyTorch cases run only when torch
imports (``.[bench]``). ``--only`` takes row module names (``experiments/bench/rows/*.py``) or
dotted module paths of any module with a ``cases(args)`` function.
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

from experiments.bench import rows as row_modules
from experiments.bench.machine import LoadProbe, apply_threads, torch_threads
from experiments.results_file import Measurement, write_results

GPU_ROWS = "recurrent,transformer,alexnet,sweep"  # the rows --device gpu runs when --only is not given
GPU_RESULTS = "experiments/results/bench/bench_gpu"  # + .md / .json, written by --device gpu


# --- cases and rounds ---------------------------------------------------------------------------

def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def collect(args) -> list:
    names = [m.name for m in pkgutil.iter_modules(row_modules.__path__)]
    wanted = args.only.split(",") if args.only else names
    unknown = sorted(w for w in wanted if w not in names and "." not in w)
    if unknown:
        raise SystemExit(f"bench: unknown row module(s) {unknown}; known: {names} (or a dotted module path)")
    cases = []
    for name in wanted:
        module = importlib.import_module(name if "." in name else f"experiments.bench.rows.{name}")
        cases += module.cases(args)
    return cases


def _percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    pos = q * (len(xs) - 1)
    lo, hi = int(pos), min(int(pos) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def time_group(group: list, rounds: int, warmup: int, order: list | None = None, lead_in: int = 1) -> list[dict]:
    """Build, compile and warm up every case of one work, then time them interleaved in rounds.

    Each implementation's turn starts with ``lead_in`` untimed steps (a case's own ``lead_in`` or
    ``warmup``, where set, caps the harness's). ``order``, if given, receives the implementation
    name of every timed step in the order run.
    """
    steps, compile_s, lead_ins = [], [], []
    for case in group:
        t0 = time.perf_counter()
        step = case.setup()
        step()
        compile_s.append(time.perf_counter() - t0)
        for _ in range(min(warmup, warmup if case.warmup is None else case.warmup)):
            step()
        steps.append(step)
        lead_ins.append(min(lead_in, lead_in if case.lead_in is None else case.lead_in))
    times: list[list[float]] = [[] for _ in group]
    for _ in range(rounds):
        for i, (case, step) in enumerate(zip(group, steps)):
            for _ in range(lead_ins[i]):
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


def select(cases: list, args, has_gpu: bool, has_torch: bool) -> dict[str, list]:
    """The cases to time, grouped by work (in the rows' order)."""
    groups: dict[str, list] = {}
    match = [m for m in args.match.split(",") if m]
    for case in cases:
        if match and not any(m in case.work for m in match):
            continue
        if args.device != "all" and case.device != args.device:
            continue
        if case.device == "gpu" and not (has_gpu or args.tiny):
            continue
        if case.impl.startswith("PyTorch") and not has_torch:
            print(f"skip  {case.work} / {case.impl} (torch not installed: pip install -e '.[bench]')", file=sys.stderr)
            continue
        groups.setdefault(case.work, []).append(case)
    return groups


def run(args, order: list | None = None) -> list[dict]:
    import jax

    backend = jax.default_backend()
    groups = select(collect(args), args, backend == "gpu", _torch_available() and not args.no_torch)
    rows = []
    for work, group in groups.items():
        rounds = min([args.rounds] + [c.repeats for c in group if c.repeats])
        for row in time_group(group, rounds, args.warmup, order, args.lead_in):
            if row["device"] != ("gpu" if backend == "gpu" else "cpu"):
                row["device"] += f" (ran on {backend}, --tiny)"
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


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m experiments.bench", description=__doc__.splitlines()[0])
    p.add_argument("--only", default="", help="comma-separated row modules (experiments/bench/rows/*.py) or module "
                                              f"paths (default: all; with --device gpu: {GPU_ROWS})")
    p.add_argument("--match", default="", help="comma-separated substrings: keep only work whose label contains one")
    p.add_argument("--device", default="all", choices=("all", "cpu", "gpu"),
                   help=f"keep only the cases of one device; gpu also writes {GPU_RESULTS}.md/.json unless --md/--json")
    p.add_argument("--rounds", "--repeats", type=int, default=20, help="timed rounds (each times every implementation once)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--lead-in", type=int, default=1,
                   help="untimed steps at the start of each implementation's turn in a round (default 1)")
    p.add_argument("--threads", type=int, default=0, help="threads for every implementation (default: all cores)")
    p.add_argument("--json", default="", help="also write the facts and rows as JSON to this file")
    p.add_argument("--md", default="", help="also write a Markdown results file (header with date, command, load)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch rows")
    p.add_argument("--quick", action="store_true", help="smallest sizes and few rounds (smoke test)")
    p.add_argument("--tiny", action="store_true",
                   help="the GPU rows at tiny shapes on whatever device JAX has (a CPU check of their logic); implies --quick")
    p.add_argument("--xla", default="lectarch", choices=("lectarch", "default"),
                   help="lectarch: XLA's CPU flags as lectarch.runtime.configure sets them, for every JAX "
                        "implementation; default: jaxlib's own")
    p.add_argument("--malloc", default="default", choices=("default", "keep"),
                   help="keep: lectarch's allocator settings (lectarch.runtime.configure) for every implementation")
    args = p.parse_args(argv)
    args.quick = args.quick or args.tiny
    if args.quick:
        args.rounds, args.warmup = min(args.rounds, 3), min(args.warmup, 1)
    if args.device == "gpu":
        args.only = args.only or GPU_ROWS
        if not args.tiny and not (args.md or args.json):
            args.md, args.json = f"{GPU_RESULTS}.md", f"{GPU_RESULTS}.json"
    return args


def configure(args):
    """lectarch's process settings (``lectarch.runtime.configure``, as the command line and the
    notebooks apply them), with the compilation cache off, so a compile time is a compile time.
    ``--xla default`` and ``--malloc default`` opt out of the XLA CPU flag and the allocator
    settings through their documented variables, so every implementation runs alike."""
    import lectarch.runtime

    if args.xla == "default":
        os.environ["LECTARCH_XLA_FLAGS"] = "default"
    if args.malloc == "default":
        os.environ["LECTARCH_MALLOC"] = "default"
    return lectarch.runtime.configure(compilation_cache_setting="off")


def main(argv=None) -> int:
    args = parse(argv)
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
    settings = configure(args)
    threads["XLA_FLAGS"] = settings.xla_flags
    threads["malloc"] = settings.malloc or "default"
    measurement, probe = Measurement(), LoadProbe()
    import jax

    if args.device == "gpu" and not args.tiny and jax.default_backend() != "gpu":
        print(f"bench: --device gpu needs a GPU, and JAX's backend here is {jax.default_backend()}: install JAX's "
              "GPU build (make install ACCEL=cuda12) on a GPU machine, or add --tiny to run the GPU rows at tiny "
              "shapes on this device; nothing was written", file=sys.stderr)
        return 2

    if _torch_available() and not args.no_torch:
        threads.update(torch_threads(threads["threads"]))
    rows = run(args)
    if not rows:
        print(f"bench: no case to run (--only {args.only or 'all'}, --match {args.match or 'any'}, --device "
              f"{args.device}); nothing was written", file=sys.stderr)
        return 2
    load = probe.finish(threads["threads"])
    devices = jax.devices()
    meta = dict(measurement.facts(), backend=jax.default_backend(), devices=[str(d) for d in devices],
                device_kind=devices[0].device_kind, threads=threads, load=load)
    for w in load["warnings"]:
        print(f"WARNING: {w}", file=sys.stderr)
    if args.json:
        pathlib.Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    body = table(rows)
    if args.md:
        notes = [f"- JAX backend: {meta['backend']}, {len(devices)} x {meta['device_kind']}",
                 f"- threads: {threads}",
                 f"- other processes' load during the run: {load['others_load']:.2f} cores busy on average"
                 if load["others_load"] is not None else "- other processes' load: unknown"]
        notes += [f"- **WARNING: {w}**" for w in load["warnings"]]
        write_results(args.md, "Training-step benchmark (interleaved rounds)", "\n".join(notes) + "\n\n" + body,
                      measurement)
    print(body)
    return 0
