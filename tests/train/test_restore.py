"""One way to restore a run: ``open_run`` rebuilds exactly the state the trainer saved."""

import json

import pytest

from lectarch.cli import main
from lectarch.config import ConfigError
from lectarch.experiment import build_objective
from lectarch.train import sharding
from lectarch.experiment import train
from lectarch.train.loop import evaluate
from lectarch.train.metrics import read_metrics
from lectarch.experiment import open_run
from lectarch.train.step import make_eval_step
from tests.helpers import config


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    w = tmp_path_factory.mktemp("run")
    cfg = config("mlp_digits", "num_steps=4", "eval_every=2", "checkpoint_every=2", "log_every=2",
                 "model.width=8", "batch_size=16", "eval_batch_size=120", "progress=false", "label_smoothing=0.1")
    assert train(cfg, w).status == "finished"
    return w


@pytest.mark.parametrize("step", [2, None])
def test_open_run_restores_the_state_the_logged_eval_was_computed_from(workdir, step):
    run = open_run(workdir, step)
    assert run.step == (step or 4) and int(run.state.step) == run.step
    assert run.cfg.label_smoothing == 0.1 and run.cfg.model.width == 8
    eval_step = sharding.jit_eval_step(run.mesh, make_eval_step(run.graphdef, build_objective(run.cfg)))
    again = evaluate(eval_step, run.mesh, run.state, run.dataset, run.cfg.eval_batch_size)
    logged = {row["step"]: row for row in read_metrics(workdir, "eval")}[run.step]
    assert again["loss"] == pytest.approx(logged["loss"], rel=1e-6)
    assert again["accuracy"] == logged["accuracy"]


def test_open_run_errors_name_the_problem(workdir, tmp_path):
    with pytest.raises(ConfigError, match="no config.json"):
        open_run(tmp_path)
    with pytest.raises(ConfigError, match="holds no readable checkpoint at step 3"):
        open_run(workdir, 3)


def test_gradflow_from_a_workdir_alone_probes_the_trained_parameters(workdir, tmp_path, repo_root):
    import csv

    assert main(["gradflow", "--workdir", str(workdir), "--out", str(tmp_path / "trained"), "--batch-size", "8"]) == 0
    assert main(["gradflow", "--config", f"{repo_root}/experiments/configs/mlp_digits.py", "--out",
                 str(tmp_path / "init"), "--batch-size", "8", "--config.model.width=8"]) == 0
    trained, init = (list(csv.DictReader((tmp_path / d / "layers.csv").open())) for d in ("trained", "init"))
    assert [r["layer"] for r in trained] == [r["layer"] for r in init] and len(trained) >= 2
    assert [r["param_norm"] for r in trained] != [r["param_norm"] for r in init]
