"""Time one training step of each piece of work, lectarch beside its peers, in one run.

    python experiments/bench.py [--only mlp,recurrent] [--repeats 20] [--json out.json] [--no-torch]

For every case: compile (first call, including build) time, then the median of ``--repeats``
timed steps after ``--warmup`` untimed ones. Cases that share a ``work`` are compared in the same
run: ``speedup`` = peer time / lectarch time (>= 1.0 means lectarch is at least as fast). GPU cases
run only when JAX sees a GPU; PyTorch cases only when torch imports (``pip install -e .[bench]``).
"""

import argparse
import importlib
import json
import pathlib
import pkgutil
import platform
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from experiments import benchrows  # noqa: E402


def time_case(case, warmup: int, repeats: int) -> dict:
    t0 = time.perf_counter()
    step = case.setup()
    step()
    compile_s = time.perf_counter() - t0
    for _ in range(warmup):
        step()
    times = []
    for _ in range(case.repeats or repeats):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    ms = 1e3 * statistics.median(times)
    row = {"work": case.work, "impl": case.impl, "device": case.device, "ms_per_step": ms,
           "compile_s": compile_s, "repeats": len(times)}
    if case.flops:
        row["tflops"] = case.flops / (ms / 1e3) / 1e12
    return row


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def collect(args) -> list:
    names = [m.name for m in pkgutil.iter_modules(benchrows.__path__)]
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            raise SystemExit(f"bench: unknown row module(s) {unknown}; known: {names}")
        names = wanted
    cases = []
    for name in names:
        cases += importlib.import_module(f"experiments.benchrows.{name}").cases(args)
    return cases


def run(args) -> list[dict]:
    import jax

    has_gpu = any(d.platform == "gpu" for d in jax.devices())
    has_torch = _torch_available() and not args.no_torch
    rows = []
    for case in collect(args):
        if case.device == "gpu" and not has_gpu:
            continue
        if case.impl == "PyTorch" and not has_torch:
            print(f"skip  {case.work} / PyTorch (torch not installed: pip install -e '.[bench]')", file=sys.stderr)
            continue
        row = time_case(case, args.warmup, args.repeats)
        print(f"  {row['work']:<60} {row['impl']:<22} {row['ms_per_step']:10.3f} ms", file=sys.stderr)
        rows.append(row)
    for row in rows:
        ref = next((r for r in rows if r["work"] == row["work"] and r["impl"] == "lectarch"), None)
        if ref is not None:
            row["speedup_of_lectarch"] = row["ms_per_step"] / ref["ms_per_step"]
    return rows


def table(rows: list[dict]) -> str:
    head = f"| work | implementation | device | ms/step | compile s | TFLOP/s | lectarch speedup |\n|---|---|---|---|---|---|---|"
    lines = [head]
    for r in rows:
        tf = f"{r['tflops']:.3f}" if "tflops" in r else ""
        sp = f"{r['speedup_of_lectarch']:.2f}x" if "speedup_of_lectarch" in r and r["impl"] != "lectarch" else ""
        lines.append(f"| {r['work']} | {r['impl']} | {r['device']} | {r['ms_per_step']:.3f} | "
                     f"{r['compile_s']:.2f} | {tf} | {sp} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default="", help="comma-separated row modules (experiments/benchrows/*.py)")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--json", default="", help="also write the rows as JSON to this file")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch rows")
    p.add_argument("--quick", action="store_true", help="smallest sizes and few repeats (smoke test)")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.warmup = min(args.repeats, 3), 1
    import jax

    rows = run(args)
    meta = {"jax": jax.__version__, "backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
            "python": platform.python_version(), "machine": platform.machine()}
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(table(rows))
    print(json.dumps({"meta": meta, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
