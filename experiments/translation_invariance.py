"""Translation invariance of a CNN with and without max pooling (the lecture's invariance slide).

    python -m experiments.translation_invariance --config experiments/configs/translation_invariance.py --workdir runs/invariance

Trains the config's CNN once per ``invariance.pools`` variant (``model.pool`` = max / avg / none),
then shifts every test image by ``k = 1..max_shift`` pixels (left, right, up, down; zeros fill in)
and measures, averaged over images and the four directions:

- hidden change: ``||h(shift_k x) - h(x)|| / ||h(x)||`` for ``h`` the last feature maps (the
  dense layer's input);
- prediction flips: the fraction of images whose predicted class changes;
- accuracy on the shifted images.

Writes its table to experiments/results/cnn/invariance.md (``--results``), and ``invariance.png`` (the three curves per variant), ``invariance.json`` and ``invariance.md``.
"""

import argparse
import json
import pathlib
import shutil
import sys

import numpy as np

REPO = pathlib.Path(__file__).resolve().parent.parent

from experiments.results_file import Measurement, write_results
RESULTS = REPO / "experiments" / "results" / "cnn" / "invariance.md"


def shift(x_BxHxWxC: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move the image content by ``(dy, dx)`` pixels; the uncovered border is zero."""
    out = np.zeros_like(x_BxHxWxC)
    H, W = x_BxHxWxC.shape[1:3]
    src = x_BxHxWxC[:, max(0, -dy):H - max(0, dy), max(0, -dx):W - max(0, dx)]
    out[:, max(0, dy):max(0, dy) + src.shape[1], max(0, dx):max(0, dx) + src.shape[2]] = src
    return out


def measure(model, x: np.ndarray, y: np.ndarray, max_shift: int) -> dict:
    h0 = np.asarray(model.features(x)).reshape(len(x), -1)
    p0 = np.asarray(model(x)).argmax(-1)
    out = {"shift": [], "hidden_change": [], "prediction_flips": [], "accuracy": []}
    for k in range(max_shift + 1):
        dirs = [(0, 0)] if k == 0 else [(0, k), (0, -k), (k, 0), (-k, 0)]
        hc, flips, acc = [], [], []
        for dy, dx in dirs:
            xs = shift(x, dy, dx)
            h = np.asarray(model.features(xs)).reshape(len(x), -1)
            p = np.asarray(model(xs)).argmax(-1)
            hc.append(np.mean(np.linalg.norm(h - h0, axis=1) / np.maximum(np.linalg.norm(h0, axis=1), 1e-12)))
            flips.append(np.mean(p != p0))
            acc.append(np.mean(p == y))
        for key, v in (("shift", k), ("hidden_change", np.mean(hc)), ("prediction_flips", np.mean(flips)),
                       ("accuracy", np.mean(acc))):
            out[key].append(int(v) if key == "shift" else float(v))
    return out


def plot(results: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("hidden_change", "relative change of the hidden maps"), ("prediction_flips", "predictions that change"),
            ("accuracy", "test accuracy")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (key, title) in zip(axes, keys):
        for pool, res in results.items():
            ax.plot(res["shift"], res[key], marker="o", label=f"pool={pool}")
        ax.set_xlabel("shift (pixels)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle("CNN on 8x8 digits: responses to shifted inputs, with and without pooling")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def table(results: dict, num_params: dict) -> str:
    lines = ["| pooling | parameters | shift | hidden change | prediction flips | accuracy |", "|---|---|---|---|---|---|"]
    for pool, res in results.items():
        for i, k in enumerate(res["shift"]):
            lines.append(f"| {pool} | {num_params[pool]:,} | {k} | {res['hidden_change'][i]:.3f} | "
                         f"{res['prediction_flips'][i]:.3f} | {res['accuracy'][i]:.4f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(REPO / "experiments" / "configs" / "translation_invariance.py"))
    p.add_argument("--workdir", default="runs/invariance")
    p.add_argument("--results", default=str(RESULTS), help="the Markdown results file to write")
    args, rest = p.parse_known_args(argv)
    measurement = Measurement()
    overrides = [a.removeprefix("--config.") for a in rest]

    from lectarch.experiment import load_config
    from lectarch.experiment import train
    from lectarch.experiment import open_run

    cfg = load_config(args.config, overrides + ["progress=false"])
    workdir = pathlib.Path(args.workdir).absolute()
    results, num_params = {}, {}
    for pool in cfg.invariance.pools:
        variant = load_config(args.config, overrides + ["progress=false", f"model.pool={pool}"])
        out = workdir / f"pool_{pool}"
        shutil.rmtree(out, ignore_errors=True)
        r = train(variant, out)
        run = open_run(out)
        dataset, model = run.dataset, run.model
        x = np.stack([e["inputs"] for e in dataset.eval])
        y = np.stack([e["targets"] for e in dataset.eval])
        results[pool] = measure(model, x, y, cfg.invariance.max_shift)
        num_params[pool] = r.num_params
        print(f"pool={pool}: {r.num_params:,} parameters, test accuracy {r.last_eval['accuracy']:.4f}", file=sys.stderr)
    plot(results, workdir / "invariance.png")
    text = table(results, num_params)
    (workdir / "invariance.json").write_text(json.dumps({"results": results, "num_params": num_params}, indent=2) + "\n")
    (workdir / "invariance.md").write_text(text + "\n")
    write_results(args.results, "Translation invariance of the small CNN with max, average and no pooling", text, measurement)
    print(text)
    print(f"plot: {workdir / 'invariance.png'}")
    return 0


if __name__ == "__main__":
    from experiments.script import run_script

    run_script(main, "python -m experiments.translation_invariance")
