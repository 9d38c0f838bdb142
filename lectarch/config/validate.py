"""Rules for the keys every experiment shares, checked before anything is built or compiled.

The keys under ``config.model`` and ``config.data`` and the names of optimisers and schedules are
checked by ``lectarch.experiment.validate``, which knows the modules that own them.
"""

import ml_collections

from lectarch.config.defaults import NONFINITE_CHECKS
from lectarch.config.errors import ConfigError
from lectarch.config.rules import (
    NON_NEGATIVE,
    NON_NEGATIVE_INT,
    POSITIVE,
    POSITIVE_INT,
    PROBABILITY,
    OneOf,
    Range,
    check_finite,
)

# Rules for the keys every experiment shares; model.* and data.* rules come from the model and
# dataset modules (their CONFIG_RULES), so a new model brings its own ranges.
COMMON_RULES = {
    "seed": NON_NEGATIVE_INT,
    "num_steps": POSITIVE_INT,
    "batch_size": POSITIVE_INT,
    "eval_batch_size": POSITIVE_INT,
    "learning_rate": POSITIVE,
    "log_every": POSITIVE_INT,
    "eval_every": POSITIVE_INT,
    "checkpoint_every": POSITIVE_INT,
    "max_to_keep": Range(2, integer=True),
    "num_devices": NON_NEGATIVE_INT,
    "data_workers": NON_NEGATIVE_INT,
    "label_smoothing": PROBABILITY,
    "progress_every_s": POSITIVE,
    "nonfinite_check": OneOf(NONFINITE_CHECKS),
    "profile.start": NON_NEGATIVE_INT,
    "profile.steps": NON_NEGATIVE_INT,
    "optimizer.momentum": Range(0, 1, hi_open=True),
    "optimizer.b1": Range(0, 1, hi_open=True),
    "optimizer.b2": Range(0, 1, hi_open=True),
    "optimizer.eps": NON_NEGATIVE,
    "optimizer.weight_decay": NON_NEGATIVE,
    "schedule.warmup_steps": NON_NEGATIVE_INT,
    "schedule.end_factor": Range(0, 1),
    "clip.global_norm": NON_NEGATIVE,
    "clip.elementwise": NON_NEGATIVE,
}


def _get(cfg: ml_collections.ConfigDict, dotted: str):
    node = cfg
    for part in dotted.split("."):
        if not isinstance(node, ml_collections.ConfigDict) or part not in node:
            return _MISSING
        node = node[part]
    return node


_MISSING = object()


def check_rules(cfg: ml_collections.ConfigDict, rules: dict, prefix: str = "") -> None:
    """``rule.check`` for each ``{key: rule}`` whose key (under ``prefix``) the config has."""
    for key, rule in rules.items():
        value = _get(cfg, prefix + key)
        if value is not _MISSING:
            rule.check(prefix + key, value)


REQUIRED = ("seed", "num_steps", "batch_size", "learning_rate", "log_every", "eval_every", "checkpoint_every",
            "model", "data", "objective")


def check_common(cfg: ml_collections.ConfigDict) -> None:
    """Raise ``ConfigError`` (one line: key, value, allowed range) for the first bad shared value."""
    for key in REQUIRED:
        if key not in cfg:
            raise ConfigError(f"config has no key {key!r}; start the config from lectarch.config.base_config()")
    check_finite(cfg)
    check_rules(cfg, COMMON_RULES)
    if cfg.schedule.name in ("linear_warmup", "warmup_cosine", "inverse_sqrt") and cfg.schedule.warmup_steps < 1:
        raise ConfigError(
            f"config.schedule.warmup_steps={cfg.schedule.warmup_steps} is out of range: "
            f"schedule {cfg.schedule.name!r} needs an integer >= 1")
