"""Space files: plain Python read into a Space; samplers by name; overrides in load_config's form."""

import argparse
import os

import optuna
import pytest

from lectarch.cli import sweep as sweep_command
from lectarch.config import ConfigError
from lectarch.experiment import load_config
from lectarch.sweep.optuna_sweep import make_pruner, make_sampler
from lectarch.sweep.space import as_overrides, load_space
from tests.helpers import REPO

EXAMPLE = os.path.join(REPO, "experiments", "sweeps", "mlp_digits_lr.py")


def test_example_space_file_gives_valid_config_overrides():
    space = load_space(EXAMPLE)
    assert space.sampler == "tpe" and space.metric == "accuracy" and space.direction == "maximize"
    assert space.grid_size == 6
    trial = optuna.create_study().ask()
    overrides = as_overrides(space.space(trial))
    cfg = load_config(os.path.join(REPO, "experiments", "configs", "mlp_digits.py"), overrides)
    assert cfg.learning_rate == trial.params["learning_rate"] and cfg.model.width == trial.params["model.width"]
    for hp in space.vmapped:  # the vmapped trials only change scalars
        assert set(hp) <= {"learning_rate", "seed"}


def test_samplers_and_pruner_by_name():
    space = load_space(EXAMPLE)
    assert isinstance(make_sampler("grid", space), optuna.samplers.GridSampler)
    assert isinstance(make_sampler("random", space, 0), optuna.samplers.RandomSampler)
    assert isinstance(make_sampler("tpe", space, 0), optuna.samplers.TPESampler)
    assert isinstance(make_pruner(space), optuna.pruners.MedianPruner)
    with pytest.raises(ConfigError):
        make_sampler("bayes", space)


def test_as_overrides_round_trips_types():
    import numpy as np

    assert as_overrides({"learning_rate": np.float64(0.5), "model.activation": "tanh", "pictures": False}) == [
        "learning_rate=0.5", "model.activation=tanh", "pictures=False"]


def test_bad_space_files(tmp_path):
    (tmp_path / "none.py").write_text("X = 1\n")
    with pytest.raises(ConfigError, match="space"):
        load_space(tmp_path / "none.py")
    (tmp_path / "bad.py").write_text("SAMPLER = 'bayes'\ndef space(trial):\n    return {}\n")
    with pytest.raises(ConfigError, match="SAMPLER"):
        load_space(tmp_path / "bad.py")
    (tmp_path / "plain.py").write_text("def space(trial):\n    return {}\n")
    args = argparse.Namespace(config=os.path.join(REPO, "experiments", "configs", "mlp_digits.py"),
                              space=str(tmp_path / "plain.py"), workdir=str(tmp_path / "w"), vmapped=True)
    with pytest.raises(ConfigError, match="VMAPPED"):  # `lectarch sweep --vmapped` needs the list
        sweep_command.run(args, [])


def test_a_grid_prunes_only_when_asked(tmp_path):
    plain = tmp_path / "plain.py"
    plain.write_text("GRID = {'x': [1, 2]}\ndef space(trial):\n    return {}\n")
    space = load_space(plain)  # no PRUNER in the file
    assert isinstance(make_pruner(space, None, "grid"), optuna.pruners.NopPruner)
    assert isinstance(make_pruner(space, "median", "grid"), optuna.pruners.MedianPruner)
    assert isinstance(make_pruner(space, None, "tpe"), optuna.pruners.MedianPruner)
    assert isinstance(make_pruner(space, "none", "tpe"), optuna.pruners.NopPruner)
    explicit = tmp_path / "space.py"
    explicit.write_text("import optuna\nPRUNER = optuna.pruners.ThresholdPruner(lower=0.5)\n"
                        "def space(trial):\n    return {}\n")
    assert isinstance(make_pruner(load_space(explicit), None, "grid"), optuna.pruners.ThresholdPruner)
    assert isinstance(make_pruner(load_space(explicit), "none", "grid"), optuna.pruners.NopPruner)
    with pytest.raises(ConfigError, match="unknown pruner 'hyperband'"):
        make_pruner(space, "hyperband")
