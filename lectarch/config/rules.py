"""Allowed values of config keys: small rule objects that name their own range in errors."""

import dataclasses
import math
from collections.abc import Collection

from lectarch.config.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Range:
    """A number in [lo, hi] (or open ends with ``lo_open`` / ``hi_open``); ``integer`` for ints."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        parts = []
        if self.lo > -math.inf:
            parts.append(f"{'>' if self.lo_open else '>='} {_fmt(self.lo)}")
        if self.hi < math.inf:
            parts.append(f"{'<' if self.hi_open else '<='} {_fmt(self.hi)}")
        return f"{kind} {' and '.join(parts)}" if parts else kind

    def check(self, key: str, value) -> None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and self.integer and not float(value).is_integer():
            ok = False
        if ok:
            v = float(value) if abs(value) < 1e300 else math.inf  # an int past float's range is out of any range
            ok = math.isfinite(v)  # inf and nan are never a meaningful setting
            ok = ok and (v > self.lo if self.lo_open else v >= self.lo)
            ok = ok and (v < self.hi if self.hi_open else v <= self.hi)
        if not ok:
            raise ConfigError(f"config.{key}={value!r} is out of range: must be {self.describe()}")


@dataclasses.dataclass(frozen=True)
class OneOf:
    choices: Collection

    def check(self, key: str, value) -> None:
        if value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise ConfigError(f"config.{key}={value!r} is not allowed: must be one of {allowed}")


@dataclasses.dataclass(frozen=True)
class Each:
    """Every element of a tuple/list satisfies ``rule``; ``min_len`` elements at least."""

    rule: "Range | OneOf"
    min_len: int = 0

    def check(self, key: str, value) -> None:
        if not isinstance(value, (tuple, list)) or len(value) < self.min_len:
            raise ConfigError(f"config.{key}={value!r} must be a tuple of at least {self.min_len} values")
        for i, v in enumerate(value):
            self.rule.check(f"{key}[{i}]", v)


def check_finite(values, prefix: str = "") -> None:
    """Every float in a (nested) config is finite: ``inf`` and ``nan`` are never a meaningful setting."""
    for key, value in values.items():
        if isinstance(value, dict) or hasattr(value, "items"):
            check_finite(value, f"{prefix}{key}.")
        elif isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"config.{prefix}{key}={value!r} is out of range: must be a finite number")


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


POSITIVE_INT = Range(1, integer=True)
NON_NEGATIVE_INT = Range(0, integer=True)
POSITIVE = Range(0, lo_open=True)
NON_NEGATIVE = Range(0)
PROBABILITY = Range(0, 1, hi_open=True)
