"""Vanishing gradients through time: tanh RNN vs LSTM vs Greff et al.'s variants on the adding problem.

    python -m experiments.vanishing --workdir runs/vanishing [--models rnn,full,NIG,...] [--steps 1000]
        [--config.KEY=VALUE ...]

For each model (config experiments/configs/gradflow_vanishing.py; ``rnn`` is the tanh Elman RNN,
the others are ``model.variant`` of the LSTM): ||dL/dh_t|| (and ||dL/dc_t||) for t = 1..T on the
first training batch at initialisation, then after ``--steps`` steps of ``lectarch train``, at the
final checkpoint. Writes its table to experiments/results/inspect/vanishing/vanishing.md (``--results``) and into the workdir: ``vanishing_init.png``, ``vanishing_trained.png``,
``vanishing_cell_init.png`` (dL/dc_t of the LSTMs), ``vanishing.csv``/``.json`` (one row per model,
stage and t), ``summary.json`` (test MSE against the baseline 1/6, and ||dL/dh_1|| / ||dL/dh_T||),
TensorBoard images, and each model's own training workdir.
"""

import argparse
import json
import pathlib

from lectarch.experiment import load_config
from lectarch.experiment import build_run
from lectarch.train.run import restored
from lectarch.inspect.report import Report
from lectarch.inspect.timeflow import time_probe
from lectarch.models.cells import VARIANTS
from lectarch.experiment import train
from lectarch.viz.gradflow_plots import time_norms_figure
from experiments.results_file import Measurement, write_results

CONFIG = pathlib.Path(__file__).resolve().parent / "configs" / "gradflow_vanishing.py"
MODELS = ("rnn",) + VARIANTS
RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "inspect" / "vanishing" / "vanishing.md"


def model_overrides(name: str) -> list[str]:
    return ["model.name=rnn", "model.cell=elman", "model.activation=tanh"] if name == "rnn" else ["model.name=lstm", f"model.variant={name}"]


def results_table(summary: dict) -> str:
    """The Markdown table of ``summary.json``: ||dL/dh_1|| / ||dL/dh_T|| at init and trained, test MSE."""
    lines = ["| model | dL/dh_1 / dL/dh_T (norms) at init | after training | steps | test MSE (baseline 1/6) |",
             "|---|---|---|---|---|"]
    for name, s in summary.items():
        mse = "n/a" if s["test_mse"] is None else f"{s['test_mse']:.4f}"
        lines.append(f"| {label(name)} | {s['init_h1_over_hT']:.2g} | {s['trained_h1_over_hT']:.2g} | {s['steps']} | {mse} |")
    return "\n".join(lines)


def label(name: str) -> str:
    return "tanh RNN" if name == "rnn" else ("LSTM" if name == "full" else f"LSTM {name}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", required=True)
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--steps", type=int, default=0, help="training steps (default: the config's num_steps)")
    p.add_argument("--results", default=str(RESULTS), help="the Markdown results file to write")
    args, rest = p.parse_known_args(argv)
    measurement = Measurement()
    overrides = [a.removeprefix("--config.") for a in rest if a.startswith("--config.")]
    workdir = pathlib.Path(args.workdir)
    report = Report(workdir)
    rows, curves, summary = [], {"init": {}, "trained": {}, "cell_init": {}}, {}
    for name in args.models.split(","):
        extra = model_overrides(name) + ["progress=false"] + ([f"num_steps={args.steps}"] if args.steps else [])
        cfg = load_config(CONFIG, overrides + extra)
        run = build_run(cfg, num_devices=1)
        init = time_probe(run)
        result = train(cfg, workdir / name)
        trained_run = restored(run, workdir / name)
        step = trained_run.step
        trained = time_probe(trained_run, batch=run.batch)
        for stage, norms in (("init", init), ("trained", trained)):
            T = len(norms["0.h"])
            rows += [{"model": name, "stage": stage, "step": 0 if stage == "init" else step, "t": t + 1,
                      "dL_dh": float(norms["0.h"][t]), "dL_dc": float(norms["0.c"][t]) if "0.c" in norms else None}
                     for t in range(T)]
        curves["init"][label(name)] = init["0.h"]
        curves["trained"][label(name)] = trained["0.h"]
        if "0.c" in init:
            curves["cell_init"][label(name)] = init["0.c"][:-1]  # dL/dc_T = 0: the head reads h_T
        mse = result.last_eval.get("mse", result.last_eval.get("loss"))
        summary[name] = {"test_mse": mse, "beats_baseline_1/6": bool(mse is not None and mse < 1 / 6),
                         "status": result.status, "steps": step,
                         "init_h1_over_hT": float(init["0.h"][0] / init["0.h"][-1]),
                         "trained_h1_over_hT": float(trained["0.h"][0] / trained["0.h"][-1])}
        s = summary[name]
        print(f"{label(name):10s} test MSE {mse:.4f} ({result.status}); ||dL/dh_1||/||dL/dh_T||: "
              f"init {s['init_h1_over_hT']:.3g}, trained {s['trained_h1_over_hT']:.3g}", flush=True)
    T = cfg.data.T
    colors = {name: f"C{i}" for i, name in enumerate(curves["init"])}  # one colour per model in every figure
    report.figure("vanishing_init", time_norms_figure(curves["init"], f"adding problem T={T}: at initialisation",
                                                      colors=colors))
    report.figure("vanishing_trained", time_norms_figure(curves["trained"], f"adding problem T={T}: after training",
                                                         colors=colors))
    if curves["cell_init"]:
        report.figure("vanishing_cell_init", time_norms_figure(curves["cell_init"], f"LSTM cell state, T={T}, at init",
                                                               ylabel="||dL/dc_t||", colors=colors))
    report.table("vanishing", rows)
    report.json("summary", summary)
    report.close()
    write_results(args.results, f"Vanishing gradients through time (adding problem, T={T})", results_table(summary),
                  measurement)
    print(json.dumps(summary, indent=1))
    print(f"outputs in {workdir}")
    return 0


if __name__ == "__main__":
    from experiments.script import run_script

    run_script(main, "python -m experiments.vanishing")
