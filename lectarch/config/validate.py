"""Check every value of a config before anything is built or compiled."""

import ml_collections

from lectarch.config.errors import ConfigError
from lectarch.config.rules import (
    NON_NEGATIVE,
    NON_NEGATIVE_INT,
    POSITIVE,
    POSITIVE_INT,
    PROBABILITY,
    OneOf,
    Range,
)

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "warmup_cosine", "linear_warmup", "inverse_sqrt")

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
    "profile.start": NON_NEGATIVE_INT,
    "profile.steps": NON_NEGATIVE_INT,
    "optimizer.name": OneOf(OPTIMIZERS),
    "optimizer.momentum": Range(0, 1, hi_open=True),
    "optimizer.b1": Range(0, 1, hi_open=True),
    "optimizer.b2": Range(0, 1, hi_open=True),
    "optimizer.eps": NON_NEGATIVE,
    "optimizer.weight_decay": NON_NEGATIVE,
    "schedule.name": OneOf(SCHEDULES),
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


def _check_rules(cfg: ml_collections.ConfigDict, rules: dict, prefix: str = "") -> None:
    for key, rule in rules.items():
        value = _get(cfg, prefix + key)
        if value is not _MISSING:
            rule.check(prefix + key, value)


def validate(cfg: ml_collections.ConfigDict) -> None:
    """Raise ``ConfigError`` (one line: key, value, allowed range) for the first bad value."""
    from lectarch.data import DATASETS, dataset_module
    from lectarch.models import MODELS, model_module
    from lectarch.train.objectives import OBJECTIVES

    for key in ("seed", "num_steps", "batch_size", "learning_rate", "log_every", "eval_every",
                "checkpoint_every", "model", "data", "objective"):
        if key not in cfg:
            raise ConfigError(f"config has no key {key!r}; start the config from lectarch.config.base_config()")
    _check_rules(cfg, COMMON_RULES)
    OneOf(tuple(OBJECTIVES)).check("objective", cfg.objective)
    OneOf(tuple(MODELS)).check("model.name", cfg.model.name)
    OneOf(tuple(DATASETS)).check("data.name", cfg.data.name)
    _check_rules(cfg, getattr(model_module(cfg.model.name), "CONFIG_RULES", {}), "model.")
    _check_rules(cfg, getattr(dataset_module(cfg.data.name), "CONFIG_RULES", {}), "data.")
    if cfg.schedule.name in ("linear_warmup", "warmup_cosine", "inverse_sqrt") and cfg.schedule.warmup_steps < 1:
        raise ConfigError(
            f"config.schedule.warmup_steps={cfg.schedule.warmup_steps} is out of range: "
            f"schedule {cfg.schedule.name!r} needs an integer >= 1")
    for hook in (getattr(model_module(cfg.model.name), "validate_config", None),
                 getattr(dataset_module(cfg.data.name), "validate_config", None)):
        if hook is not None:
            hook(cfg)
