"""Exploding gradients: a tanh RNN with recurrent spectral radius 2, trained without and with clipping.

    python -m experiments.exploding --workdir runs/exploding [--radius 2.0] [--clip 1.0] [--steps 600]
        [--config.KEY=VALUE ...]

Pascanu, Mikolov and Bengio (2013): if the largest singular value of the recurrent matrix R is
above 1 (1/gamma with gamma = max |tanh'| = 1), dh_T/dh_t = prod_k diag(tanh'_k) R^T can grow
exponentially in T - t, and one SGD step on such a gradient throws the weights far away. Clipping
the gradient's global norm to a threshold keeps the direction and bounds the step.

The script trains experiments/configs/gradflow_exploding.py, whose recurrent matrix R starts as an
orthogonal matrix times ``model.recurrent_spectral_radius`` (``--radius`` overrides it), so its
spectral radius is exactly that (same data, same seed, the same initial state as `lectarch train`
of that file): once with ``clip.global_norm=0`` (off), once with ``--clip``.
Writes its table to experiments/results/inspect/exploding/exploding.md (``--results``) and into the workdir: ``exploding_training.png`` (loss and gradient norm against step),
``exploding_time_init.png`` (||dL/dh_t|| at the scaled init), ``exploding_jacobian_init.png``
(singular values of dh_T/dh_t), ``exploding.csv``/``.json``, ``summary.json``, TensorBoard images,
and both runs' workdirs ``noclip/`` and ``clip/`` (metrics.jsonl with ``grad_norm/...``).
"""

import argparse
import json
import pathlib

from lectarch.experiment import build_run, load_config, train
from lectarch.inspect.report import Report
from lectarch.inspect.timeflow import jacobian_probe, time_probe, time_rows
from lectarch.train.metrics import read_metrics
from lectarch.viz import gradflow_plots as plots
from experiments.results_file import Measurement, write_results

CONFIG = pathlib.Path(__file__).resolve().parent / "configs" / "gradflow_exploding.py"
RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "inspect" / "exploding" / "exploding.md"


def results_table(summary: dict) -> str:
    """The Markdown tables of ``summary.json``: gradients at initialisation, then each training run."""
    init = summary["init"]
    lines = [f"At initialisation (spectral radius of R: {init['spectral_radius']:g}): norm of dL/dh_1 "
             f"{init['dL_dh_1']:.4g}, of dL/dh_T {init['dL_dh_T']:.3g}.", "",
             "| t | largest singular value of dh_T/dh_t |", "|---|---|"]
    lines += [f"| {t} | {s:.3g} |" for t, s in init["largest_singular_value_dhT_dht"].items()]
    lines += ["", "| run | clip.global_norm | status | steps | first gradient norm | largest train loss "
              "| final train loss | test MSE |", "|---|---|---|---|---|---|---|---|"]
    for run in ("noclip", "clip"):
        s = summary[run]
        mse = "n/a" if s["test_mse"] is None else f"{s['test_mse']:.4f}"
        lines.append(f"| {run} | {s['clip.global_norm']:g} | {s['status']} | {s['steps']} | {s['first_grad_norm']:.4g} "
                     f"| {s['max_loss']:.3g} | {s['final_train_loss']:.3g} | {mse} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", required=True)
    p.add_argument("--radius", type=float, default=0.0,
                   help="spectral radius of R at init (default: the config's model.recurrent_spectral_radius)")
    p.add_argument("--clip", type=float, default=1.0, help="clip.global_norm of the clipped run")
    p.add_argument("--steps", type=int, default=0, help="training steps (default: the config's num_steps)")
    p.add_argument("--results", default=str(RESULTS), help="the Markdown results file to write")
    args, rest = p.parse_known_args(argv)
    measurement = Measurement()
    overrides = [a.removeprefix("--config.") for a in rest if a.startswith("--config.")]
    overrides += ["progress=false"] + ([f"num_steps={args.steps}"] if args.steps else [])
    overrides += [f"model.recurrent_spectral_radius={args.radius}"] if args.radius else []
    workdir = pathlib.Path(args.workdir)
    report = Report(workdir)
    runs, summary, rows = {}, {}, []
    for run, clip in (("noclip", 0.0), ("clip", args.clip)):
        cfg = load_config(CONFIG, overrides + [f"clip.global_norm={clip}"])
        radius = cfg.model.recurrent_spectral_radius
        if run == "noclip":  # the same initial state for both runs: probe it once
            probed = build_run(cfg, num_devices=1)
            norms = time_probe(probed)
            svals = jacobian_probe(probed)
            rows = time_rows(norms)
            report.figure("exploding_time_init", plots.time_norms_figure(
                {f"tanh RNN, spectral radius {radius:g}": norms["0.h"]}, f"adding problem T={cfg.data.T}, at init"))
            report.figure("exploding_jacobian_init", plots.singular_values_figure(
                svals, f"dh_T/dh_t, spectral radius {radius:g}, at init"))
            summary["init"] = {"spectral_radius": radius, "dL_dh_1": float(norms["0.h"][0]),
                               "dL_dh_T": float(norms["0.h"][-1]),
                               "largest_singular_value_dhT_dht": {t: float(s[0]) for t, s in svals.items()}}
        result = train(cfg, workdir / run)
        metrics = read_metrics(workdir / run, "train")
        runs[f"clip.global_norm={clip:g}" if clip else "no clipping"] = {
            "step": [m["step"] for m in metrics], "loss": [m["loss"] for m in metrics],
            "grad_norm": [m["grad_norm"] for m in metrics]}
        summary[run] = {"clip.global_norm": clip, "status": result.status, "steps": result.step,
                        "test_mse": result.last_eval.get("mse"), "first_grad_norm": metrics[0]["grad_norm"],
                        "max_loss": max(m["loss"] for m in metrics), "final_train_loss": metrics[-1]["loss"]}
        print(f"{run}: {result.status} at step {result.step}, test MSE {summary[run]['test_mse']}, "
              f"max train loss {summary[run]['max_loss']:.3g}", flush=True)
    report.figure("exploding_training", plots.training_figure(
        runs, title=f"tanh RNN, spectral radius {radius:g}, SGD lr {cfg.learning_rate:g}"))
    report.table("exploding", rows)
    report.json("summary", summary)
    report.json("training", runs)
    report.close()
    write_results(args.results, "Exploding gradients: a tanh RNN with a large recurrent matrix",
                  results_table(summary), measurement)
    print(json.dumps(summary, indent=1))
    print(f"outputs in {workdir}")
    return 0


if __name__ == "__main__":
    from experiments.script import run_script

    run_script(main, "python -m experiments.exploding")
