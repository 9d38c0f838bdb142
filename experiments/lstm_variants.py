"""The full LSTM and Greff et al.'s eight variants on one task, same budget, several seeds.

    python -m experiments.lstm_variants --workdir runs/lstm_variants [--seeds 0,1,2] [--steps 800]

Trains experiments/configs/lstm_variants.py (the adding problem, T=50, 800 steps of Adam) for each
variant and seed, writes its table to experiments/results/recurrent/lstm_variants.md (``--results``), and
``table.md`` (test MSE mean +- std over seeds, best and worst seed,
how many seeds got 10x under the baseline 1/6), ``results.json`` and ``variants.png``.
Runtime: about 20 minutes on a 2-core CPU for 9 variants x 3 seeds.
"""

import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

from experiments.results_file import Measurement, write_results
RESULTS = ROOT / "experiments" / "results" / "recurrent" / "lstm_variants.md"


def run_one(variant: str, seed: int, steps: int, workdir: pathlib.Path, extra: list[str]) -> dict:
    from lectarch.experiment import load_config
    from lectarch.experiment import train

    cfg = load_config(ROOT / "experiments" / "configs" / "lstm_variants.py",
                      [f"model.variant={variant}", f"seed={seed}", f"num_steps={steps}", "progress=false",
                       "num_devices=1", *extra])
    result = train(cfg, workdir)
    return {"variant": variant, "seed": seed, "final_mse": result.last_eval["mse"],
            "best_mse": result.best_eval["mse"], "wall_s": result.wall_time, "params": result.num_params}


def table(results: list[dict]) -> str:
    import numpy as np

    lines = ["| variant | params | final test MSE, mean +- std | best seed | worst seed | seeds 10x under baseline |",
             "|---|---|---|---|---|---|"]
    for v in dict.fromkeys(r["variant"] for r in results):
        mse = np.array([r["final_mse"] for r in results if r["variant"] == v])
        params = next(r["params"] for r in results if r["variant"] == v)
        lines.append(f"| {v} | {params:,} | {mse.mean():.4f} +- {mse.std():.4f} | {mse.min():.4f} | {mse.max():.4f} | "
                     f"{int((mse < 1 / 60).sum())}/{len(mse)} |")
    return "\n".join(lines)


def plot(results: list[dict], path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = list(dict.fromkeys(r["variant"] for r in results))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for i, v in enumerate(variants):
        mse = [r["final_mse"] for r in results if r["variant"] == v]
        ax.scatter([i] * len(mse), mse, color="C0")
    ax.axhline(1 / 6, color="gray", ls="--", label="baseline 1/6")
    ax.axhline(1 / 60, color="gray", ls=":", label="baseline / 10")
    ax.set_xticks(range(len(variants)), variants)
    ax.set_yscale("log")
    ax.set_ylabel("final test MSE (each dot a seed)")
    ax.set_title("LSTM variants on the adding problem, same budget")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    from lectarch.models.cells import VARIANTS

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", required=True)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--results", default=str(RESULTS), help="the Markdown results file to write")
    args, extra = p.parse_known_args(argv)
    measurement = Measurement()
    out = pathlib.Path(args.workdir)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for variant in args.variants.split(","):
        for seed in map(int, args.seeds.split(",")):
            r = run_one(variant, seed, args.steps, out / f"{variant}_seed{seed}", [e.removeprefix("--config.") for e in extra])
            print(f"{variant} seed {seed}: final MSE {r['final_mse']:.4f} ({r['wall_s']:.0f} s)", file=sys.stderr)
            results.append(r)
            (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "table.md").write_text(table(results) + "\n")
    write_results(args.results, "The LSTM and its eight variants on the adding problem", table(results), measurement)
    plot(results, out / "variants.png")
    print(table(results))
    return 0


if __name__ == "__main__":
    from experiments.script import run_script

    run_script(main, "python -m experiments.lstm_variants")
