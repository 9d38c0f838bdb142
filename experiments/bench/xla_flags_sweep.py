"""XLA CPU flags against lectarch's LSTM and Transformer steps, each flag in its own process.

    python -m experiments.bench.xla_flags_sweep [--rounds 5] [--out experiments/results/bench/xla_flags_cpu.md]

XLA reads ``XLA_FLAGS`` once per process, so each setting gets its own run of ``python -m experiments.bench``
(``--xla default`` plus the flag, interleaved rounds against PyTorch in that run). The table gives
lectarch's median step time and the median of the per-round ratios PyTorch / lectarch per setting.
The convolution flag that lectarch sets (``lectarch.train.xla_cpu``) is measured on AlexNet by
``experiments/bench/cpu_directions.py`` run with ``--xla default`` and ``--xla lectarch``.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

from experiments.results_file import Measurement, write_results

ROOT = pathlib.Path(__file__).resolve().parents[2]

FLAGS = ["", "--xla_cpu_experimental_ynn_fusion_type=",  # "": jaxlib's defaults; then YNNPACK off
         "--xla_cpu_enable_concurrency_optimized_scheduler=true",
         "--xla_cpu_enable_concurrency_optimized_scheduler=false",
         "--xla_cpu_experimental_ynn_fusion_type=+dot", "--xla_cpu_experimental_ynn_fusion_type=+reduce",
         "--xla_cpu_prefer_vector_width=512"]


def _works(quick: bool) -> dict[str, str]:
    """The two rows' labels, as the bench's rows name them at this size."""
    from experiments.bench.rows import transformer

    return {"LSTM": "no peepholes B=",
            "Transformer": transformer._work(transformer.QUICK if quick else transformer.CPU, "float32")}


def run_one(flags: str, rounds: int, quick: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "bench.json"
        works = _works(quick)
        cmd = [sys.executable, "-m", "experiments.bench", "--xla", "default", "--only", "recurrent,transformer",
               "--match", ",".join(works.values()), "--device", "cpu", "--rounds", str(rounds),
               "--warmup", "1", "--json", str(out)] + (["--quick"] if quick else [])
        r = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, XLA_FLAGS=flags), capture_output=True, text=True)
        if r.returncode != 0:
            return {"error": (r.stderr.strip().splitlines() or ["no output"])[-1][:160]}
        data = json.loads(out.read_text())
    # the runs follow each other, so the load average before one holds the previous run's own load:
    # only the other processes' CPU time during the run says whether it was disturbed
    res = {"warnings": [w for w in data["meta"]["load"]["warnings"] if w.startswith("other processes")]}
    for name, label in works.items():
        rows = {row["impl"]: row for row in data["rows"] if label in row["work"]}
        if "lectarch" in rows:
            res[name] = (rows["lectarch"]["ms_per_step"], rows.get("PyTorch", {}).get("speedup_of_lectarch"))
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.bench.xla_flags_sweep", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", default="experiments/results/bench/xla_flags_cpu.md")
    p.add_argument("--quick", action="store_true", help="the bench's smallest sizes (a smoke test)")
    args = p.parse_args(argv)
    measurement = Measurement()
    lines = ["| XLA_FLAGS | LSTM ms/step | LSTM: PyTorch / lectarch | Transformer ms/step | "
             "Transformer: PyTorch / lectarch | note |", "|---|---|---|---|---|---|"]
    for flags in FLAGS:
        res = run_one(flags, args.rounds, args.quick)
        print(flags or "(jaxlib's defaults)", res, file=sys.stderr)
        cells = []
        for name in ("LSTM", "Transformer"):
            ms, ratio = res.get(name, (None, None))
            cells += [f"{ms:.1f}" if ms else "-", f"{ratio:.2f}x" if ratio else "-"]
        note = res.get("error", "; ".join(res.get("warnings", [])))
        lines.append(f"| `{flags or '(none)'}` | " + " | ".join(cells) + f" | {note} |")
    write_results(args.out, "XLA CPU flags against lectarch's LSTM and Transformer steps",
                  "Each line is its own run of `python -m experiments.bench` (interleaved rounds with PyTorch).\n\n"
                  + "\n".join(lines), measurement)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    from experiments.script import run_script

    run_script(main, "python -m experiments.bench.xla_flags_sweep")
