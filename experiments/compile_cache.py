"""What the persistent compilation cache saves: compile seconds of the train step, first run vs second.

    .venv/bin/python -m experiments.compile_cache            # AlexNet and Transformer base, batch 8

Each config's train step is compiled by ``lectarch inspect --what train_step`` (nothing trained;
TFDS mock data of the real shapes) twice in a row, each a fresh process sharing one empty cache
directory (``LECTARCH_COMPILATION_CACHE``): the first run compiles and writes the cache, the second
reads it. Writes ``experiments/results/compile_cache_cpu.md``. Runtime: about 2 minutes on a
2-core CPU.
"""

import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

from experiments.results_file import Measurement, write_results

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = ("alexnet_imagenet2012", "transformer_base_wmt14")
OUT = REPO / "experiments" / "results" / "compile_cache_cpu.md"


def compile_seconds(config: str, cache: str, batch_size: int) -> tuple[float, float]:
    """(XLA compile seconds as inspect reports them, the process's wall seconds)."""
    cmd = [sys.executable, "-m", "lectarch", "inspect", "--config", f"experiments/configs/{config}.py",
           "--what", "train_step", "--mock-data", "--top", "1", f"--config.batch_size={batch_size}",
           f"--config.eval_batch_size={batch_size}"]
    env = dict(os.environ, LECTARCH_COMPILATION_CACHE=cache)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - t0
    found = re.search(r"compile time:\s+([0-9.]+) s", out.stdout)
    if out.returncode or not found:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return float(found.group(1)), wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args()
    measurement = Measurement()
    rows = ["| config | first run: compile s | second run: compile s | saved | first run: wall s "
            "| second run: wall s | programs in the cache after both |",
            "|---|---|---|---|---|---|---|"]
    for config in CONFIGS:
        with tempfile.TemporaryDirectory() as cache:
            (c1, w1), (c2, w2) = (compile_seconds(config, cache, args.batch_size) for _ in range(2))
            entries = sorted(name.split("-")[0] for name in os.listdir(cache))
        rows.append(f"| {config} | {c1:.2f} | {c2:.2f} | {c1 - c2:.2f} s ({c1 / max(c2, 1e-9):.1f}x) | "
                    f"{w1:.1f} | {w2:.1f} | {', '.join(entries)} |")
        print(rows[-1], flush=True)
    body = (f"The train step at batch {args.batch_size} (`lectarch inspect --what train_step --mock-data`), "
            "compiled in two fresh processes that share one empty cache directory: the first compiles "
            "and writes it, the second loads it (the second run's compile seconds are the time JAX takes "
            "to load the compiled program). Wall time includes start-up, building the model and "
            "lowering.\n\n" + "\n".join(rows))
    path = write_results(args.out, "Persistent compilation cache: compile seconds, first run vs second", body,
                         measurement)
    print(f"wrote {path}")


if __name__ == "__main__":
    from experiments.script import run_script

    run_script(main, "python -m experiments.compile_cache")
