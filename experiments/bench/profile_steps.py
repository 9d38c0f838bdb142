"""Where one training step's time goes: the top operations of lectarch's step beside PyTorch's.

    python -m experiments.bench.profile_steps [--rows lstm,transformer,alexnet] [--steps 5] [--top 12]
                                              [--out experiments/results/bench/profile_cpu.md]

For each row (the CPU work of the bench's rows: the LSTM without peepholes, the f32
Transformer, the f32 AlexNet) and each implementation (lectarch, PyTorch), a fresh subprocess
builds the bench's step, warms it up and profiles ``--steps`` steps:

- lectarch: ``jax.profiler.trace`` (its Perfetto JSON) gives the time of every executed XLA
  operation (thunk); the optimized HLO dumped by XLA (``--xla_dump_to``) gives each operation's
  ``op_name``, which says whether it came from the forward pass (``jvp(...)``), the backward pass
  (``transpose(...)``) or neither (the optimizer update, copies of buffers).
- PyTorch: ``torch.profiler`` with ``forward``, ``backward`` and ``optimizer`` ranges; each aten
  operation's self time, in the range it ran.

Every child runs with ``XLA_FLAGS`` as ``lectarch``'s command line sets them (``lectarch.train.xla_cpu``).
Times are milliseconds per step: each operation's wall time while it ran, added up over the
operations (two that ran at once on two threads both count), so the shares compare between the
two. Writes one Markdown file (header: date, command, versions, load).
"""

import argparse
import collections
import gzip
import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]

ROWS = {  # row name -> (bench row module, the work's label starts with)
    "lstm": ("recurrent", "LSTM, no peepholes"),
    "lstm_peepholes": ("recurrent", "LSTM with peepholes"),
    "transformer": ("transformer", "Transformer"),
    "alexnet": ("alexnet", "AlexNet"),
}
IMPLS = ("lectarch", "PyTorch")
WRAPPERS = ("while", "call", "conditional")  # their time is the time of the operations inside


def _case(row: str, impl: str, quick: bool):
    module, label = ROWS[row]
    cases = importlib.import_module(f"experiments.bench.rows.{module}").cases(argparse.Namespace(quick=quick))
    matches = [c for c in cases if c.work.startswith(label) and c.impl == impl and c.device == "cpu"
               and " bf16 " not in c.work]
    return matches[0]


# --- lectarch: XLA thunks from the jax profiler, phases from the optimized HLO's metadata ----------

def _hlo_phases(dump: pathlib.Path) -> dict[str, tuple[str, str]]:
    """``instruction name -> (phase, op_name)`` from the optimized train-step HLO."""
    found: dict[str, tuple[str, str]] = {}
    for f in sorted(dump.glob("*train_step*cpu_after_optimizations.txt")):
        for line in f.read_text().splitlines():
            m = re.match(r"\s*(?:ROOT )?%?([\w.\-]+) = .*?(?:op_name=\"([^\"]*)\")?", line)
            if not m:
                continue
            op = re.search(r'op_name="([^"]*)"', line)
            op_name = op.group(1) if op else ""
            found[m.group(1)] = (_phase(op_name), op_name)
    return found


def _phase(op_name: str) -> str:
    if "transpose(" in op_name:
        return "backward"
    if "jvp(" in op_name:
        return "forward"
    return "update / other" if op_name else "buffers (no source op)"


def profile_jax(row: str, steps: int, quick: bool) -> dict:
    import jax

    dump = pathlib.Path(os.environ["LECTARCH_PROFILE_DUMP"])
    step = _case(row, "lectarch", quick).setup()
    for _ in range(3):
        step()
    trace_dir = dump / "trace"
    with jax.profiler.trace(str(trace_dir), create_perfetto_trace=True):
        for _ in range(steps):
            step()
    trace = json.load(gzip.open(sorted(trace_dir.glob("**/*.trace.json.gz"))[-1]))
    phases = _hlo_phases(dump)
    per_op: dict[str, float] = collections.defaultdict(float)
    for e in trace["traceEvents"]:
        args = e.get("args") or {}
        if e.get("ph") == "X" and "hlo_op" in args and "train_step" in args.get("hlo_module", ""):
            per_op[args["hlo_op"]] += e.get("dur", 0.0) / 1e3 / steps
    ops = []
    for name, ms in per_op.items():
        if name.split(".")[0] in WRAPPERS:
            continue
        phase, op_name = phases.get(name, ("?", ""))
        kind = op_name.rsplit("/", 1)[-1] if op_name else re.sub(r"^wrapped_|[._]\d+$|\.\d+$", "", name)
        ops.append({"op": name, "ms": ms, "phase": phase, "source": _short(op_name), "kind": kind})
    return {"ops": ops}


def _short(op_name: str) -> str:
    """The op_name's last meaningful parts, e.g. ``while/body/closed_call/dot_general``."""
    parts = [p for p in op_name.split("/") if p and not p.startswith("jit(")]
    return "/".join(parts[-3:])


# --- PyTorch: torch.profiler, each aten op's self time in its phase --------------------------------

def profile_torch(row: str, steps: int, quick: bool) -> dict:
    import torch

    case = _case(row, "PyTorch", quick)
    phased = _phased_torch_step(case)
    for _ in range(3):
        phased()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            phased()
    per_op: dict[tuple[str, str], float] = collections.defaultdict(float)
    for ev in prof.events():
        if ev.name in ("forward", "backward", "optimizer") or not ev.name.startswith("aten::"):
            continue
        phase, parent = "update / other", ev.cpu_parent
        while parent is not None:
            if parent.name in ("forward", "backward", "optimizer"):
                phase = {"optimizer": "update / other"}.get(parent.name, parent.name)
                break
            parent = parent.cpu_parent
        per_op[(ev.name, phase)] += ev.self_cpu_time_total / 1e3 / steps
    return {"ops": [{"op": n, "ms": ms, "phase": p, "source": "", "kind": n} for (n, p), ms in per_op.items()]}


def _phased_torch_step(case):
    """The bench's PyTorch step with ``forward``, ``backward`` and ``optimizer`` profiler ranges.

    The bench row's step is a closure; here ``Tensor.backward`` and ``SGD.step`` are wrapped for
    the duration of one call: ``forward`` covers everything before ``loss.backward()``.
    """
    import torch

    step = case.setup()
    real_backward, real_step = torch.Tensor.backward, torch.optim.SGD.step
    open_range: dict = {}

    def close_forward():
        if open_range.get("forward") is not None:
            open_range.pop("forward").__exit__(None, None, None)

    def backward(self, *a, **k):
        close_forward()
        with torch.autograd.profiler.record_function("backward"):
            return real_backward(self, *a, **k)

    def opt_step(self, *a, **k):
        with torch.autograd.profiler.record_function("optimizer"):
            return real_step(self, *a, **k)

    def phased():
        torch.Tensor.backward, torch.optim.SGD.step = backward, opt_step
        open_range["forward"] = torch.autograd.profiler.record_function("forward")
        open_range["forward"].__enter__()
        try:
            step()
        finally:
            close_forward()
            torch.Tensor.backward, torch.optim.SGD.step = real_backward, real_step

    return phased


# --- the parent: one subprocess per (row, implementation), one Markdown file ------------------------

def _child(row: str, impl: str, steps: int, quick: bool) -> dict:
    from lectarch.train import xla_cpu

    with tempfile.TemporaryDirectory() as tmp:  # XLA's CPU flags as lectarch's command line sets them
        env = dict(os.environ, LECTARCH_PROFILE_DUMP=tmp, JAX_PLATFORMS="cpu",
                   XLA_FLAGS=(xla_cpu.apply() + f" --xla_dump_to={tmp} --xla_dump_hlo_as_text").strip())
        cmd = [sys.executable, "-m", "experiments.bench.profile_steps", "--child", f"{row}:{impl}", "--steps", str(steps)] + (["--quick"] if quick else [])
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"profile_steps: {row} / {impl} failed:\n{r.stderr[-3000:]}")
        return json.loads(r.stdout.strip().splitlines()[-1])


def tables(row: str, results: dict[str, dict], top: int) -> str:
    out = [f"## {row}\n"]
    summary = ["| phase | " + " | ".join(f"{impl} ms/step" for impl in results) + " |",
               "|---|" + "---|" * len(results)]
    phases = sorted({o["phase"] for r in results.values() for o in r["ops"]})
    for phase in phases + ["total"]:
        cells = [sum(o["ms"] for o in r["ops"] if phase in ("total", o["phase"])) for r in results.values()]
        summary.append(f"| {phase} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    out += ["Time per step by phase (each operation's wall time while it ran, added up; operations that ran "
            "at once on two threads both count):\n", "\n".join(summary), ""]
    for impl, r in results.items():
        total = sum(o["ms"] for o in r["ops"]) or 1.0
        kinds: dict[tuple[str, str], float] = collections.defaultdict(float)
        for o in r["ops"]:
            kinds[(o["kind"], o["phase"])] += o["ms"]
        top_kinds = sorted(kinds.items(), key=lambda kv: -kv[1])[:top]
        out.append(f"By kind of operation (HLO op / aten op), {impl}:\n")
        out.append("| kind | phase | ms/step | share |\n|---|---|---|---|")
        out += [f"| {k} | {ph} | {ms:.2f} | {100 * ms / total:.1f}% |" for (k, ph), ms in top_kinds]
        out.append("")
        ops = sorted(r["ops"], key=lambda o: -o["ms"])[:top]
        out.append(f"Top {len(ops)} single operations, {impl}:\n")
        out.append("| operation | phase | ms/step | share | source (HLO op_name) |\n|---|---|---|---|---|")
        out += [f"| {o['op']} | {o['phase']} | {o['ms']:.2f} | {100 * o['ms'] / total:.1f}% | {o['source']} |"
                for o in ops]
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.bench.profile_steps", description=__doc__.splitlines()[0])
    p.add_argument("--rows", default="lstm,transformer,alexnet", help=f"comma-separated, of {sorted(ROWS)}")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--top", type=int, default=12)
    p.add_argument("--out", default="experiments/results/bench/profile_cpu.md")
    p.add_argument("--quick", action="store_true", help="the bench's smallest sizes (a smoke test)")
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        row, impl = args.child.split(":")
        result = (profile_jax if impl == "lectarch" else profile_torch)(row, args.steps, args.quick)
        print(json.dumps(result))
        return 0
    rows = args.rows.split(",")
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        print(f"profile_steps: unknown row(s) {unknown}; known: {sorted(ROWS)}", file=sys.stderr)
        return 2
    from experiments.results_file import Measurement, write_results

    measurement = Measurement()
    sections = []
    for row in rows:
        impls = IMPLS if row != "lstm_peepholes" else ("lectarch",)  # PyTorch's LSTM has no peepholes
        if importlib.util.find_spec("torch") is None:
            print(f"profile_steps: {row}: torch not installed (pip install -e '.[bench]'): lectarch only", file=sys.stderr)
            impls = ("lectarch",)
        results = {impl: _child(row, impl, args.steps, args.quick) for impl in impls}
        sections.append(tables(f"{row}: {_case(row, 'lectarch', args.quick).work}", results, args.top))
        print(sections[-1])
    path = write_results(ROOT / args.out, "Where a CPU training step's time goes: lectarch (XLA) beside PyTorch",
                         "\n".join(sections), measurement)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from experiments.script import run_script

    run_script(main, "python -m experiments.bench.profile_steps")
