"""The tanh RNN against the LSTM on the adding problem at T = 50, 100, 200: curves and a table.

    python -m experiments.rnn_vs_lstm --workdir runs/rnn_vs_lstm [--T 50,100,200] [--steps 2000]

Trains experiments/configs/adding_rnn.py and adding_lstm.py (same data, batch, steps and
clipping) at each T, writes its table to experiments/results/recurrent/rnn_vs_lstm.md (``--results``) and into the
workdir: ``curves.png`` (test MSE against step, one
panel per T, the baseline MSE 1/6 drawn), ``table.md`` and ``results.json`` (best and final test
MSE, the ratio baseline / MSE, and the wall time at which the test MSE first fell 10x under the
baseline). Runtime: about 10 minutes on a 2-core CPU.
"""

import argparse
import json
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent

from experiments.results_file import Measurement, write_results
RESULTS = ROOT / "experiments" / "results" / "recurrent" / "rnn_vs_lstm.md"


def run_one(model: str, T: int, steps: int, workdir: pathlib.Path, extra: list[str]) -> dict:
    from lectarch.experiment import load_config
    from lectarch.experiment import train

    cfg = load_config(ROOT / "experiments" / "configs" / f"adding_{model}.py",
                      [f"data.T={T}", f"num_steps={steps}", "progress=false", "num_devices=1", *extra])
    evals, t0 = [], time.time()

    def on_eval(step, metrics):
        evals.append({"step": step, "mse": metrics["mse"], "wall_s": time.time() - t0})

    result = train(cfg, workdir, on_eval=on_eval)
    baseline = 1 / 6
    solved = next((e for e in evals if e["mse"] < baseline / 10), None)
    return {"model": model, "T": T, "steps": steps, "evals": evals, "baseline_mse": baseline,
            "best_mse": min(e["mse"] for e in evals), "final_mse": evals[-1]["mse"],
            "wall_s": result.wall_time, "solved_step": solved and solved["step"],
            "solved_wall_s": solved and solved["wall_s"], "params": result.num_params}


def plot(results: list[dict], path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    Ts = sorted({r["T"] for r in results})
    fig, axes = plt.subplots(1, len(Ts), figsize=(4.5 * len(Ts), 3.6), sharey=True, squeeze=False)
    for ax, T in zip(axes[0], Ts):
        for r in (r for r in results if r["T"] == T):
            ax.plot([e["step"] for e in r["evals"]], [e["mse"] for e in r["evals"]], marker="o", ms=3,
                    label=f"{'tanh RNN' if r['model'] == 'rnn' else 'LSTM'}")
        ax.axhline(1 / 6, color="gray", ls="--", label="baseline 1/6")
        ax.axhline(1 / 60, color="gray", ls=":", label="baseline / 10")
        ax.set_yscale("log")
        ax.set_title(f"adding problem, T = {T}")
        ax.set_xlabel("training step")
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("test MSE")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def table(results: list[dict]) -> str:
    lines = ["| T | model | best test MSE | final test MSE | baseline / best | 10x under baseline at | run time |",
             "|---|---|---|---|---|---|---|"]
    for r in sorted(results, key=lambda r: (r["T"], r["model"])):
        solved = (f"step {r['solved_step']}, {r['solved_wall_s']:.0f} s" if r["solved_step"] else "never")
        lines.append(f"| {r['T']} | {'tanh RNN' if r['model'] == 'rnn' else 'LSTM'} | {r['best_mse']:.4f} | "
                     f"{r['final_mse']:.4f} | {r['baseline_mse'] / r['best_mse']:.1f}x | {solved} | {r['wall_s']:.0f} s |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", required=True)
    p.add_argument("--T", default="50,100,200")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--models", default="rnn,lstm")
    p.add_argument("--results", default=str(RESULTS), help="the Markdown results file to write")
    args, extra = p.parse_known_args(argv)
    measurement = Measurement()
    out = pathlib.Path(args.workdir)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for T in map(int, args.T.split(",")):
        for model in args.models.split(","):
            r = run_one(model, T, args.steps, out / f"{model}_T{T}", [e.removeprefix("--config.") for e in extra])
            print(f"T={T} {model}: best MSE {r['best_mse']:.4f}, solved at {r['solved_step']}", file=sys.stderr)
            results.append(r)
            (out / "results.json").write_text(json.dumps(results, indent=1))
    plot(results, out / "curves.png")
    (out / "table.md").write_text(table(results) + "\n")
    write_results(args.results, "tanh RNN against LSTM on the adding problem", table(results), measurement)
    print(table(results))
    return 0


if __name__ == "__main__":
    from experiments.script import run_script

    run_script(main, "python -m experiments.rnn_vs_lstm")
