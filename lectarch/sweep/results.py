"""A sweep's results: one CSV row per trial and three PNG plots (Optuna's matplotlib views).

- ``trials.csv``: number, state, objective value, parameters, step reached, pruning step, failure
  reason, duration, sub-workdir;
- ``optimization_history.png``: objective value per trial and the best so far;
- ``param_importances.png``: fANOVA importances (Hutter et al. 2014, as used by Greff et al.,
  "LSTM: A Search Space Odyssey", to rank the LSTM's hyperparameters);
- ``parallel_coordinate.png``: every completed trial as a line through its parameter values,
  coloured by its metric on ``viridis`` (whose low end is dark, so the worst trials stay visible on
  the white background; Optuna's own ``Blues`` draws them near-white), with a colour bar named
  after the metric.
"""

import csv
import os
import pathlib
import sys
import warnings

import optuna


def failure_reason(t: optuna.trial.FrozenTrial, trials: list[optuna.trial.FrozenTrial] = ()) -> str:
    """Why ``t`` failed: its own ``failure``, else the ``retry_reason`` of the trial (among
    ``trials``) that retries it (a killed worker's trial), else a lost heartbeat."""
    if t.state != optuna.trial.TrialState.FAIL:
        return ""
    retried = [r.user_attrs["retry_reason"] for r in trials
               if r.user_attrs.get("retry_of") == t.number and r.user_attrs.get("retry_reason")]
    lost = "worker stopped reporting (killed; heartbeat lost)"
    return t.user_attrs.get("failure") or (retried[0] if retried else lost)


def write_csv(study: optuna.Study, path: pathlib.Path, metric: str) -> pathlib.Path:
    trials = study.get_trials(deepcopy=False)
    names = sorted({k for t in trials for k in t.params})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # workers sharing a workdir: whole files only
    with tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["number", "state", metric, *names, "step", "pruned_at_step", "failure", "retry_of",
                    "duration_s", "workdir"])
        for t in trials:
            duration = t.duration.total_seconds() if t.duration is not None else ""
            w.writerow([t.number, t.state.name, "" if t.value is None else t.value,
                        *[t.params.get(k, "") for k in names], t.user_attrs.get("step", ""),
                        t.user_attrs.get("pruned_at_step", ""), failure_reason(t, trials),
                        t.user_attrs.get("retry_of", ""), duration, t.user_attrs.get("workdir", "")])
    tmp.replace(path)
    return path


def _save(ax_or_axes, path: pathlib.Path) -> pathlib.Path:
    import matplotlib.pyplot as plt

    ax = ax_or_axes.flat[0] if hasattr(ax_or_axes, "flat") else ax_or_axes
    fig = ax.figure
    fig.set_size_inches(max(fig.get_size_inches()[0], 8), max(fig.get_size_inches()[1], 5))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# Perceptually uniform and dark at its low end: every trial's line is visible.
PARALLEL_CMAP = "viridis"


def parallel_coordinate(study: optuna.Study, metric: str):
    """Optuna's parallel-coordinate axes, recoloured so that low-scoring trials stay visible."""
    from matplotlib.collections import LineCollection
    from optuna.visualization import matplotlib as vis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        ax = vis.plot_parallel_coordinate(study, target_name=metric)
    ax.set_facecolor("white")
    ax.set_title(f"Parallel coordinates: {metric} of each completed trial", y=1.03)
    for collection in ax.collections:
        if isinstance(collection, LineCollection):
            collection.set_cmap(PARALLEL_CMAP)  # its colour bar follows
            collection.set_linewidth(1.5)
    return ax


def write_plots(study: optuna.Study, workdir: pathlib.Path, metric: str) -> list[pathlib.Path]:
    import matplotlib

    matplotlib.use("Agg")
    from optuna.importance import FanovaImportanceEvaluator
    from optuna.visualization import matplotlib as vis

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    plots = {
        "optimization_history": lambda: vis.plot_optimization_history(study, target_name=metric),
        "param_importances": lambda: vis.plot_param_importances(
            study, evaluator=FanovaImportanceEvaluator(seed=0), target_name=metric),
        "parallel_coordinate": lambda: parallel_coordinate(study, metric),
    }
    out = []
    for name, plot in plots.items():
        if name != "optimization_history" and len(complete) < 2:
            print(f"sweep: {name}.png needs 2 completed trials ({len(complete)} so far)", file=sys.stderr)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                out.append(_save(plot(), workdir / f"{name}.png"))
        except (ValueError, RuntimeError) as e:  # e.g. importances of a single parameter value
            print(f"sweep: no {name}.png ({e})", file=sys.stderr)
    return out


def write_results(study: optuna.Study, workdir: pathlib.Path, metric: str) -> tuple[pathlib.Path, list[pathlib.Path]]:
    workdir = pathlib.Path(workdir)
    return write_csv(study, workdir / "trials.csv", metric), write_plots(study, workdir, metric)


def summary(study: optuna.Study, metric: str) -> str:
    states = {}
    for t in study.get_trials(deepcopy=False):
        states[t.state.name] = states.get(t.state.name, 0) + 1
    lines = [f"study {study.study_name!r}: " + ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items()))]
    try:
        best = study.best_trial
        lines.append(f"best trial {best.number}: {metric}={best.value:.4f} with {best.params}")
        lines.append(f"  its run: {best.user_attrs.get('workdir', '')}")
    except ValueError:
        lines.append("no completed trial yet")
    return "\n".join(lines)


__all__ = ["PARALLEL_CMAP", "failure_reason", "parallel_coordinate", "summary", "write_csv", "write_plots",
           "write_results"]
