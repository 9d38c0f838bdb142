"""Depth experiment: per-layer gradient norms of a 12-layer MLP with sigmoid, tanh and ReLU.

    python -m experiments.depth --workdir runs/depth [--steps 600] [--config.KEY=VALUE ...]

For each activation: ||dL/dW_l|| for every layer at initialisation (same seed, same batch), then
after ``--steps`` SGD steps of ``lectarch train`` (experiments/configs/deep_mlp.py), probed at the
final checkpoint. Writes its table to experiments/results/inspect/depth/depth.md (``--results``) and into the workdir: ``depth_init.png``, ``depth_trained.png``,
``depth.csv``/``.json`` (one row per activation, stage and layer), ``summary.json`` (test accuracy,
gradient ratio output/first layer), TensorBoard images, and each run's own workdir ``<activation>/``
(metrics.jsonl with ``grad_norm/hidden.<l>`` logged during training).
"""

import argparse
import json
import pathlib

from lectarch.experiment import load_config
from lectarch.inspect.gradflow import layer_probe
from lectarch.experiment import build_run
from lectarch.train.run import restored
from lectarch.inspect.report import Report
from lectarch.experiment import train
from lectarch.viz.gradflow_plots import layer_norms_figure
from experiments.results_file import Measurement, write_results

CONFIG = pathlib.Path(__file__).resolve().parent / "configs" / "deep_mlp.py"
ACTIVATIONS = ("sigmoid", "tanh", "relu")
RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "inspect" / "depth" / "depth.md"


def results_table(summary: dict) -> str:
    """The Markdown table of ``summary.json``: gradient ratio output/first layer and test accuracy."""
    lines = ["| activation | gradient norm, output layer / first layer, at init | after training | test accuracy | steps |",
             "|---|---|---|---|---|"]
    for act, s in summary.items():
        lines.append(f"| {act} | {s['init_ratio_out_over_first']:.3g} | {s['trained_ratio_out_over_first']:.3g} "
                     f"| {s['test_accuracy']:.3f} | {s['steps']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", required=True)
    p.add_argument("--steps", type=int, default=0, help="training steps (default: the config's num_steps)")
    p.add_argument("--results", default=str(RESULTS), help="the Markdown results file to write")
    args, rest = p.parse_known_args(argv)
    measurement = Measurement()
    overrides = [a.removeprefix("--config.") for a in rest if a.startswith("--config.")]
    workdir = pathlib.Path(args.workdir)
    report = Report(workdir)
    rows, init_curves, trained_curves, summary = [], {}, {}, {}
    for act in ACTIVATIONS:
        extra = [f"model.activation={act}", "progress=false"] + ([f"num_steps={args.steps}"] if args.steps else [])
        cfg = load_config(CONFIG, overrides + extra)
        run = build_run(cfg, num_devices=1)
        init = layer_probe(run)
        result = train(cfg, workdir / act)
        trained_run = restored(run, workdir / act)
        step = trained_run.step
        trained = layer_probe(trained_run)
        for stage, layers in (("init", init), (f"step{step}", trained)):
            rows += [dict(activation=act, stage=stage, **r.row()) for r in layers]
        init_curves[act] = [(r.layer, r.grad_norm) for r in init]
        trained_curves[act] = [(r.layer, r.grad_norm) for r in trained]
        summary[act] = {"test_accuracy": result.last_eval.get("accuracy"), "steps": step,
                        "init_ratio_out_over_first": init[-1].grad_norm / init[0].grad_norm,
                        "trained_ratio_out_over_first": trained[-1].grad_norm / trained[0].grad_norm}
        print(f"{act:8s} test accuracy {summary[act]['test_accuracy']:.3f}; ||dL/dW|| output/first layer: "
              f"init {summary[act]['init_ratio_out_over_first']:.3g}, trained {summary[act]['trained_ratio_out_over_first']:.3g}")
    depth = cfg.model.depth
    report.figure("depth_init", layer_norms_figure(init_curves, f"{depth}-layer MLP at initialisation"))
    report.figure("depth_trained", layer_norms_figure(trained_curves, f"{depth}-layer MLP after training"))
    report.table("depth", rows)
    report.json("summary", summary)
    report.close()
    write_results(args.results, "Gradient norms through depth (12-layer MLP)", results_table(summary), measurement)
    print(json.dumps(summary, indent=1))
    print(f"outputs in {workdir}")
    return 0


if __name__ == "__main__":
    from experiments.script import run_script

    run_script(main, "python -m experiments.depth")
