"""Search spaces are plain Python files (``experiments/sweeps/*.py``), not a string mini-language.

A space file exposes::

    def space(trial) -> dict[str, value]:     # required: config overrides, keyed by dotted config key
        return {"learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True),
                "model.width": trial.suggest_categorical("model.width", [32, 64, 128])}

and optionally::

    SAMPLER = "tpe"                 # grid | random | tpe, when --sampler is not given
    GRID = {"learning_rate": [1e-3, 1e-2], "model.width": [32, 128]}   # the grid sampler's points,
                                    # keyed by the names passed to trial.suggest_*
    TRIALS = 16                     # when --trials is not given (grid: the grid's size)
    METRIC, DIRECTION = "accuracy", "maximize"   # the final eval metric the sweep optimises
    PRUNER = optuna.pruners.MedianPruner(n_startup_trials=3)   # on intermediate eval metrics; None: off
    VMAPPED = [{"learning_rate": 1e-3, "seed": 0}, ...]   # trials for ``lectarch sweep --vmapped``

A space file is checked once, before any trial: ``load_space`` checks the types of its names,
``check_space`` asks one trial of a scratch study in memory and checks what ``space(trial)``
returns against the config (an exception there is the user's ``file:line``), and
``check_vmapped`` checks every VMAPPED trial: numbers only, each value through the config's own
rules (``learning_rate=-1`` is refused as ``--config.learning_rate=-1`` is). Each fault is one
``ConfigError`` line, not a traceback per trial.
"""

import dataclasses
import math
import numbers
import pathlib
from collections.abc import Callable
from typing import Any

from lectarch.config import ConfigError
from lectarch.config.user_code import exec_file, where

SAMPLERS = ("grid", "random", "tpe")


@dataclasses.dataclass
class Space:
    path: pathlib.Path
    space: Callable[[Any], dict[str, Any]]
    sampler: str = "tpe"
    grid: dict[str, list] | None = None
    trials: int | None = None
    metric: str = "accuracy"
    direction: str = "maximize"
    pruner: Any = "default"  # an optuna pruner, None (no pruning) or "default" (median pruner)
    vmapped: list[dict] | None = None

    @property
    def grid_size(self) -> int:
        n = 1
        for values in (self.grid or {}).values():
            n *= len(values)
        return n


def _default_direction(metric: str) -> str:
    return "maximize" if metric in ("accuracy",) or metric.endswith("accuracy") else "minimize"


def load_space(path: str | pathlib.Path) -> Space:
    """Read a space file and check its parts."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise ConfigError(f"space file {str(path)!r} does not exist")
    module = exec_file(path, "_lectarch_space_")
    fn = getattr(module, "space", None)
    if not callable(fn):
        raise ConfigError(f"space file {str(path)!r} has no space(trial) function")
    _check_names(path, module)
    metric = getattr(module, "METRIC", "accuracy")
    s = Space(path=path, space=fn, sampler=getattr(module, "SAMPLER", "tpe"), grid=getattr(module, "GRID", None),
              trials=getattr(module, "TRIALS", None), metric=metric,
              direction=getattr(module, "DIRECTION", _default_direction(metric)),
              pruner=getattr(module, "PRUNER", "default"), vmapped=getattr(module, "VMAPPED", None))
    if s.sampler not in SAMPLERS:
        raise ConfigError(f"{path}: SAMPLER={s.sampler!r} is not one of {SAMPLERS}")
    if s.direction not in ("minimize", "maximize"):
        raise ConfigError(f"{path}: DIRECTION={s.direction!r} must be 'minimize' or 'maximize'")
    return s


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _check_names(path: pathlib.Path, module) -> None:
    """The optional names of a space file have the types the sweep reads them as."""
    import optuna

    def bad(name: str, want: str):
        value = getattr(module, name)
        return ConfigError(f"{path}: {name}={value!r} ({type(value).__name__}) must be {want}")

    if hasattr(module, "METRIC") and not (isinstance(module.METRIC, str) and module.METRIC):
        raise bad("METRIC", "the name of an eval metric, e.g. 'accuracy'")
    if hasattr(module, "SAMPLER") and not isinstance(module.SAMPLER, str):
        raise bad("SAMPLER", f"one of {SAMPLERS}")
    if hasattr(module, "TRIALS") and module.TRIALS is not None and not (_is_int(module.TRIALS) and module.TRIALS >= 1):
        raise bad("TRIALS", "a whole number >= 1")
    grid = getattr(module, "GRID", None)
    if grid is not None and not (isinstance(grid, dict) and all(
            isinstance(k, str) and isinstance(v, (list, tuple)) and len(v) > 0 for k, v in grid.items())):
        raise bad("GRID", "a dict {name: [value, ...]} of non-empty lists")
    pruner = getattr(module, "PRUNER", "default")
    if pruner not in ("default", None) and not isinstance(pruner, optuna.pruners.BasePruner):
        raise bad("PRUNER", "an optuna pruner (e.g. optuna.pruners.MedianPruner()) or None")
    vmapped = getattr(module, "VMAPPED", None)
    if vmapped is not None and not (isinstance(vmapped, (list, tuple)) and all(
            isinstance(t, dict) and all(isinstance(k, str) for k in t) for t in vmapped)):
        raise bad("VMAPPED", "a list of dicts {hyperparameter: value}")


def sampled_values(space: Space, sampler) -> dict[str, Any]:
    """What ``space(trial)`` returns for one trial of a scratch study in memory (``sampler``'s);
    an exception in it is a ``ConfigError`` at the user's file and line."""
    import optuna

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study created in memory"
    try:
        trial = optuna.create_study(sampler=sampler, direction=space.direction).ask()
    finally:
        optuna.logging.set_verbosity(verbosity)
    try:
        values = space.space(trial)
    except ConfigError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's code failed: their file and line
        raise ConfigError(f"space file {str(space.path)!r}: space(trial) failed at {where(e)}") from None
    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise ConfigError(f"space file {str(space.path)!r}: space(trial) must return a dict {{config key: value}}, "
                          f"got {type(values).__name__} {str(values)[:80]}")
    return values


def check_space(space: Space, sampler, cfg, check_overrides: Callable[[list[str]], object]) -> None:
    """One trial's keys against the config ``cfg``: a key it does not have (``lerning_rate``) is one
    line naming the space file, before the first trial runs. A value out of range is left to the
    trial it belongs to (a grid may hold a point that fails). Where the values change which keys
    exist (e.g. ``model.name``), ``check_overrides`` (the config loader) decides."""
    values = sampled_values(space, sampler)
    flat = _flat_keys(cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg))
    unknown = sorted(k for k in values if k not in flat)
    if not unknown:
        return
    try:
        check_overrides(as_overrides(values))
    except ConfigError as e:
        raise ConfigError(f"space file {str(space.path)!r}: space(trial) returned {_show(values)} with "
                          f"{', '.join(unknown)}, not a config key: {e}") from None


def _flat_keys(tree: dict, prefix: str = "") -> set[str]:
    keys = set()
    for k, v in tree.items():
        keys.add(f"{prefix}{k}")
        if isinstance(v, dict):
            keys |= _flat_keys(v, f"{prefix}{k}.")
    return keys


def check_vmapped(space: Space, check_overrides: Callable[[list[str]], object]) -> list[dict]:
    """The VMAPPED trials, each a dict of finite numbers the config accepts (``init_scale``, not a
    config key, must be > 0); else one ``ConfigError`` line naming the trial and the value."""
    if not space.vmapped:
        raise ConfigError(f"{space.path} has no VMAPPED = [{{hyperparameter: value, ...}}, ...] list")
    return check_vmapped_trials(space.vmapped, check_overrides, where=f"{space.path}: VMAPPED")


def check_vmapped_trials(trials: list[dict], check_overrides: Callable[[list[str]], object], *,
                         where: str = "VMAPPED") -> list[dict]:
    """``check_vmapped`` of a list of trials (``train_vmapped``'s argument); ``where`` names it."""
    if not isinstance(trials, (list, tuple)) or not trials:
        raise ConfigError(f"{where} must be a non-empty list of dicts {{hyperparameter: value}}")
    for k, hp in enumerate(trials):
        at = f"{where}[{k}]"
        if not isinstance(hp, dict):
            raise ConfigError(f"{at}={hp!r} must be a dict {{hyperparameter: value}}")
        for key, value in hp.items():
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise ConfigError(f"{at}: {key}={value!r} ({type(value).__name__}) must be a number (vmapped trials "
                                  f"differ only in scalar hyperparameters)")
            if not math.isfinite(value):
                raise ConfigError(f"{at}: {key}={value!r} must be a finite number")
        if "init_scale" in hp and not hp["init_scale"] > 0:
            raise ConfigError(f"{at}: init_scale={hp['init_scale']!r} must be a number > 0")
        try:
            check_overrides(as_overrides({k2: v for k2, v in hp.items() if k2 != "init_scale"}))
        except ConfigError as e:
            raise ConfigError(f"{at}: {e}") from None
    return list(trials)


def _show(values: dict) -> str:
    text = repr(values)
    return text if len(text) <= 120 else text[:117] + "..."


def as_overrides(values: dict[str, Any]) -> list[str]:
    """``{"model.width": 64}`` -> ``["model.width=64"]`` (the form ``load_config`` reads)."""
    out = []
    for key, v in values.items():
        v = v.item() if hasattr(v, "item") and not isinstance(v, (str, tuple, list)) else v  # numpy scalars
        out.append(f"{key}={v if isinstance(v, str) else repr(v)}")
    return out


__all__ = ["SAMPLERS", "Space", "as_overrides", "check_space", "check_vmapped", "check_vmapped_trials",
           "load_space", "sampled_values"]
