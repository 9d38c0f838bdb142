"""An experiment's config and the modules it names: where config, models, data and objectives meet.

``load_config(path, overrides)`` reads an experiment file (or a workdir's ``config.json``), applies
``--config.KEY=VALUE`` overrides, validates every value and locks the config. ``resolve_parts(cfg)``
finds the model, dataset and objective modules (built in, or a module path such as ``my_project.gru``;
see ``lectarch.config.modules``), ``build_objective(cfg)`` is the one place an objective is made, and
``build_run(cfg)`` / ``open_run(workdir)`` the one place a run is (``lectarch.train.run.Run``).
This module sits above ``lectarch.train`` (which never imports it) and below the commands.
"""

from __future__ import annotations

import dataclasses
import pathlib
import types
from collections.abc import Sequence
from typing import TYPE_CHECKING

import ml_collections

from lectarch.config import ConfigError, apply_overrides, read_config_file
from lectarch.config.modules import resolve
from lectarch.config.rules import OneOf
from lectarch.config.user_code import add_import_path
from lectarch.config.validate import check_common, check_rules
from lectarch.data import build_dataset, dataset_module
from lectarch.models import model_module
from lectarch.train import objectives, optim
from lectarch.train.objectives import Objective

if TYPE_CHECKING:  # the trainer and the run are imported where used: a command that only reads a config stays light
    from lectarch.train.loop import Result
    from lectarch.train.run import Run

# Built-in config.objective names; any other name is imported as a module path.
OBJECTIVES = {name: objectives.__name__ for name in objectives.OBJECTIVES}


@dataclasses.dataclass(frozen=True)
class Parts:
    """The modules behind ``config.model.name``, ``config.data.name`` and ``config.objective``."""

    model: types.ModuleType
    data: types.ModuleType
    objective: types.ModuleType


def resolve_parts(cfg: ml_collections.ConfigDict) -> Parts:
    return Parts(model=model_module(cfg.model.name), data=dataset_module(cfg.data.name),
                 objective=resolve("objective", cfg.objective, OBJECTIVES))


def build_objective(cfg: ml_collections.ConfigDict) -> Objective:
    """The config's objective (with its ``label_smoothing``): used by training, inspection and sweeps."""
    return resolve("objective", cfg.objective, OBJECTIVES).build(cfg)


def validate(cfg: ml_collections.ConfigDict) -> None:
    """Raise ``ConfigError`` (one line: key, value, allowed range) for the first bad value."""
    check_common(cfg)
    OneOf(tuple(optim.OPTIMIZERS)).check("optimizer.name", cfg.optimizer.name)
    OneOf(optim.SCHEDULES).check("schedule.name", cfg.schedule.name)
    parts = resolve_parts(cfg)
    check_rules(cfg, getattr(parts.model, "CONFIG_RULES", {}), "model.")
    check_rules(cfg, getattr(parts.data, "CONFIG_RULES", {}), "data.")
    for module in (parts.model, parts.data, parts.objective):
        hook = getattr(module, "validate_config", None)
        if hook is not None:
            hook(cfg)


def load_config(path: str | pathlib.Path, overrides: Sequence[str] = ()) -> ml_collections.ConfigDict:
    """The experiment's config (a ``get_config()`` file or a ``config.json``), overridden, validated, locked."""
    cfg = read_config_file(path)
    cfg.lock()
    apply_overrides(cfg, overrides)
    if isinstance(cfg.get("import_path"), str) and cfg.import_path:  # an overridden folder is importable too
        add_import_path(cfg.import_path)
    validate(cfg)
    return cfg


def saved_config(workdir: str | pathlib.Path, overrides: Sequence[str] = ()) -> ml_collections.ConfigDict:
    """The validated config a training workdir was written with (its ``config.json``)."""
    path = pathlib.Path(workdir) / "config.json"
    if not path.is_file():
        raise ConfigError(f"{workdir} has no config.json: is it a workdir written by `lectarch train`?")
    return load_config(path, overrides)


def build_run(cfg: ml_collections.ConfigDict, *, num_devices: int | None = None, abstract: bool = False,
              batch_size: int | None = None) -> Run:
    """The one constructor of a run from a config: its dataset (built once), objective, model and state.

    See ``lectarch.train.run.make_run`` for ``num_devices``, ``abstract`` and ``batch_size``.
    """
    from lectarch.train.run import make_run

    return make_run(cfg, build_dataset(cfg), build_objective(cfg), num_devices=num_devices, abstract=abstract,
                    batch_size=batch_size)


def open_run(workdir: str | pathlib.Path, step: int | None = None, overrides: Sequence[str] = (), *,
             batch_size: int | None = None) -> Run:
    """The run in ``workdir`` (its config, with ``overrides``) at checkpoint ``step`` (default: latest), on one device."""
    from lectarch.train.run import restored

    return restored(build_run(saved_config(workdir, overrides), num_devices=1, batch_size=batch_size), workdir, step)


def train(cfg: ml_collections.ConfigDict, workdir: str | pathlib.Path, **kwargs) -> Result:
    """Train (or resume) ``cfg`` in ``workdir``: ``lectarch.experiment.train`` of ``build_run(cfg)``."""
    from lectarch.train.loop import train as train_run

    return train_run(build_run(cfg), workdir, **kwargs)


def config_of(config: str = "", workdir: str = "", overrides: Sequence[str] = ()) -> ml_collections.ConfigDict:
    """A command's config: the experiment file ``config`` if given, else ``workdir``'s ``config.json``."""
    if config:
        return load_config(config, overrides)
    if workdir:
        return saved_config(workdir, overrides)
    raise ConfigError("give --config FILE (an experiment file) or --workdir DIR (a training workdir)")


__all__ = ["OBJECTIVES", "Parts", "build_objective", "build_run", "config_of", "load_config", "open_run",
           "resolve_parts", "saved_config", "train", "validate"]
