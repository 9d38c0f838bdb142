"""Sweep faults are one line and an exit code, never a traceback per trial: a storage that cannot be
used, a space file that breaks its contract, a sweep that completes no trial, VMAPPED values the
config refuses."""

import shutil
import subprocess
import textwrap

import matplotlib
import numpy as np
import optuna
import pytest

from lectarch.sweep.optuna_sweep import experiment_name
from lectarch.sweep.results import PARALLEL_CMAP, parallel_coordinate
from lectarch.sweep.storage import default_storage, make_storage
from tests.faults.common import MLP, assert_one_line_error, run_cli

TINY = ["--config.num_steps=2", "--config.batch_size=16", "--config.eval_batch_size=360", "--config.eval_every=2",
        "--config.log_every=2", "--config.checkpoint_every=2", "--config.model.width=8", "--config.pictures=false"]
GOOD = textwrap.dedent("""
    def space(trial):
        return {"learning_rate": trial.suggest_float("learning_rate", 1e-3, 1e-2, log=True)}
""")


def _space(tmp_path, body: str, name: str = "space.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def _sweep(tmp_path, space: str, *extra: str):
    return run_cli("sweep", "--config", MLP, "--space", space, "--workdir", str(tmp_path / "sweep"), "--trials", "1",
                   *extra, *TINY)


@pytest.mark.parametrize("fault", ["corrupt_db", "garbage_journal", "refused_postgresql", "immutable_db"])
def test_a_storage_that_cannot_be_used_is_one_line_exit_2(tmp_path, fault):
    space, extra = _space(tmp_path, GOOD), []
    if fault == "corrupt_db":
        (tmp_path / "sweep").mkdir()
        (tmp_path / "sweep" / "study.db").write_bytes(np.random.default_rng(0).bytes(5000))
        cause = "file is not a database"
    elif fault == "garbage_journal":
        (tmp_path / "study.journal").write_bytes(b"\x8b\x00garbage\n")
        extra, cause = ["--storage", f"journal:{tmp_path / 'study.journal'}"], "not an Optuna journal file"
    elif fault == "refused_postgresql":
        pytest.importorskip("psycopg")
        extra, cause = ["--storage", "postgresql://user:secret@127.0.0.1:1/db"], "Connection refused"
    else:
        db = tmp_path / "sweep" / "study.db"
        db.parent.mkdir()
        optuna.create_study(study_name="s", storage=make_storage(default_storage(tmp_path / "sweep")))
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(db)]).returncode != 0:
            pytest.skip("chattr +i needs root on a file system that has the attribute")
        cause = "readonly database"
    try:
        code, _, err = _sweep(tmp_path, space, *extra)
    finally:
        if fault == "immutable_db":
            subprocess.run(["chattr", "-i", str(tmp_path / "sweep" / "study.db")])
    line = assert_one_line_error(code, err, "--storage", "cannot use the study storage", cause)
    assert "secret" not in line and not (tmp_path / "sweep" / "trials").exists()


@pytest.mark.parametrize("body, phrase", [
    ("def space(trial):\n    raise RuntimeError('boom')\n", "space.py:2: RuntimeError: boom"),
    ("def space(trial):\n    return [1, 2]\n", "must return a dict"),
    ("METRIC = 5\n" + GOOD, "METRIC=5 (int)"),
    ("TRIALS = 'many'\n" + GOOD, "TRIALS='many' (str)"),
    ("GRID = [1, 2]\n" + GOOD, "GRID=[1, 2] (list)"),
    ("PRUNER = 'median'\n" + GOOD, "PRUNER='median' (str)"),
    ("def space(trial):\n    return {'lerning_rate': trial.suggest_float('lr', 1e-3, 1e-2)}\n",
     "lerning_rate, not a config key"),
])
def test_a_space_file_that_breaks_its_contract_is_one_line_before_any_trial(tmp_path, body, phrase):
    code, _, err = _sweep(tmp_path, _space(tmp_path, body))
    assert_one_line_error(code, err, phrase)
    assert not (tmp_path / "sweep" / "trials").exists()


def test_a_sweep_that_completes_no_trial_exits_2_with_the_first_failure(tmp_path):
    space = _space(tmp_path, "def space(trial):\n    return {'model.width': trial.suggest_int('w', -2, -1)}\n")
    code, out, err = _sweep(tmp_path, space)
    assert code == 2, err
    assert "no trial completed; the first failure was trial 0: ConfigError: config.model.width=" in err
    assert "Traceback" not in err and "1 fail" in out
    study = optuna.load_study(study_name="mlp_digits-space", storage=make_storage(default_storage(tmp_path / "sweep")))
    assert study.metric_names == ["accuracy"]  # what optuna-dashboard shows instead of "Objective 0"


@pytest.mark.parametrize("vmapped, phrase", [
    ("[{'learning_rate': 'fast'}]", "VMAPPED[0]: learning_rate='fast' (str) must be a number"),
    ("[{'learning_rate': 1e-3}, {'learning_rate': float('nan')}]", "VMAPPED[1]: learning_rate=nan must be a finite"),
    ("[{'learning_rate': -1}]", "VMAPPED[0]: config.learning_rate=-1"),
    ("[{'init_scale': 0}]", "VMAPPED[0]: init_scale=0 must be a number > 0"),
    ("{'learning_rate': 1e-3}", "VMAPPED={'learning_rate': 0.001} (dict) must be a list of dicts"),
])
def test_vmapped_values_the_config_refuses_are_one_line(tmp_path, vmapped, phrase):
    space = _space(tmp_path, f"VMAPPED = {vmapped}\n" + GOOD)
    code, _, err = run_cli("sweep", "--vmapped", "--config", MLP, "--space", space, "--workdir",
                           str(tmp_path / "sweep"), *TINY)
    assert_one_line_error(code, err, phrase)
    assert not (tmp_path / "sweep").exists()


def test_the_parallel_coordinate_plot_draws_the_worst_trial_visibly_and_names_the_metric():
    matplotlib.use("Agg")
    study = optuna.create_study(direction="maximize")
    for lr, acc in ((1e-3, 0.1), (1e-2, 0.5), (1e-1, 0.9)):
        study.add_trial(optuna.trial.create_trial(
            params={"learning_rate": lr}, value=acc,
            distributions={"learning_rate": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)}))
    ax = parallel_coordinate(study, "accuracy")
    lines = [c for c in ax.collections if isinstance(c, matplotlib.collections.LineCollection)]
    assert len(lines) == 1 and lines[0].get_cmap().name == PARALLEL_CMAP
    lines[0].update_scalarmappable()  # the colours as drawn
    r, g, b, _ = lines[0].get_colors()[int(np.argmin(lines[0].get_array()))]
    assert 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5  # the worst trial is dark, not near-white
    assert "accuracy" in [a.get_ylabel() for a in ax.figure.axes]  # the colour bar names the metric
    matplotlib.pyplot.close(ax.figure)


def test_a_sweep_of_a_runs_config_json_is_named_after_the_run(tmp_path):
    assert experiment_name(tmp_path / "mlp_digits" / "config.json") == "mlp_digits"
    assert experiment_name("experiments/configs/cnn_digits.py") == "cnn_digits"
