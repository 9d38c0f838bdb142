"""Rules for the keys every experiment shares, checked before anything is built or compiled: the
shape of the config (``check_structure``: every shared key of the kind ``base_config()`` gives it),
finite floats, 32-bit integers, and each key's range.

The keys under ``config.model`` and ``config.data`` and the names of optimisers and schedules are
checked by ``lectarch.experiment.validate``, which knows the modules that own them.
"""

import ml_collections

from lectarch.config.defaults import NONFINITE_CHECKS, PRNG_IMPLS
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
    "prng_impl": OneOf(PRNG_IMPLS),
    "accumulate_steps": POSITIVE_INT,
    "log_grad_flow_every": NON_NEGATIVE_INT,
    "ema.decay": Range(0, 1, hi_open=True),
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
            "model", "data", "objective", "optimizer", "schedule")
# The groups that name a module, and the key that names it; their other keys belong to the module.
NAMED_GROUPS = {"model": "name", "data": "name"}
# Every integer a config holds reaches JAX (seeds, step counts, sizes) as a 32-bit integer.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def _kind(value) -> str:
    if isinstance(value, ml_collections.ConfigDict):
        return "a group of keys"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (tuple, list)):
        return "a list"
    return "null" if value is None else type(value).__name__


def check_structure(cfg: ml_collections.ConfigDict, base: ml_collections.ConfigDict | None = None,
                    prefix: str = "") -> None:
    """The keys every config has, and each shared key of the kind ``base_config()`` gives it (a
    group where a group belongs, a number where a number does): one line naming the first that is not."""
    if base is None:
        from lectarch.config.defaults import base_config

        base = base_config()
        for key in REQUIRED:
            if key not in cfg:
                raise ConfigError(f"config has no key {key!r}; start the config from lectarch.config.base_config()")
    for key, default in base.items():
        if key not in cfg or default is None:
            continue
        value, want = cfg[key], _kind(default)
        if _kind(value) != want:
            raise ConfigError(f"config.{prefix}{key}={_short(value)} must be {want}, as in lectarch.config.base_config()")
        if isinstance(default, ml_collections.ConfigDict):
            named = NAMED_GROUPS.get(prefix + key)
            if named:
                if named not in value:
                    raise ConfigError(f"config.{prefix}{key} has no key {named!r}; start it from the module's "
                                      f"default_config()")
                continue  # the module's own keys: its CONFIG_RULES check them
            check_structure(value, default, f"{prefix}{key}.")


def _short(value) -> str:
    text = repr(value.to_dict() if isinstance(value, ml_collections.ConfigDict) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_integers(values, prefix: str = "") -> None:
    """Every integer in a (nested) config fits JAX's 32-bit integers (``seed=2**64`` would overflow)."""
    for key, value in values.items():
        if isinstance(value, ml_collections.ConfigDict):
            check_integers(value, f"{prefix}{key}.")
            continue
        items = enumerate(value) if isinstance(value, (list, tuple)) else [(None, value)]
        for i, v in items:
            if isinstance(v, int) and not isinstance(v, bool) and not INT_MIN <= v <= INT_MAX:
                where = f"{prefix}{key}" + ("" if i is None else f"[{i}]")
                raise ConfigError(f"config.{where}={v} is out of range: integers must be in [{INT_MIN}, {INT_MAX}]")


def check_common(cfg: ml_collections.ConfigDict) -> None:
    """Raise ``ConfigError`` (one line: key, value, allowed range) for the first bad shared value."""
    check_structure(cfg)
    check_finite(cfg)
    check_integers(cfg)
    check_rules(cfg, COMMON_RULES)
    if cfg.schedule.name in ("linear_warmup", "warmup_cosine", "inverse_sqrt") and cfg.schedule.get("warmup_steps", 0) < 1:
        raise ConfigError(
            f"config.schedule.warmup_steps={cfg.schedule.warmup_steps} is out of range: "
            f"schedule {cfg.schedule.name!r} needs an integer >= 1")
