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
"""

import dataclasses
import pathlib
from collections.abc import Callable
from typing import Any

from lectarch.config import ConfigError
from lectarch.config.user_code import exec_file

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


def as_overrides(values: dict[str, Any]) -> list[str]:
    """``{"model.width": 64}`` -> ``["model.width=64"]`` (the form ``load_config`` reads)."""
    out = []
    for key, v in values.items():
        v = v.item() if hasattr(v, "item") and not isinstance(v, (str, tuple, list)) else v  # numpy scalars
        out.append(f"{key}={v if isinstance(v, str) else repr(v)}")
    return out


__all__ = ["SAMPLERS", "Space", "as_overrides", "load_space"]
