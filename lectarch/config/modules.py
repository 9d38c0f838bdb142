"""Built-in names or module paths: how ``config.model.name``, ``config.data.name`` and
``config.objective`` find the module that builds them, and the one contract each kind keeps.

A name is looked up among the built-ins first, then imported as a module path
(``importlib.import_module``), as Python imports a script's neighbours: a user's module needs no
edit of lectarch. Either way the module has the same contract (``Contract``): ``build`` (required,
taking the kind's arguments) and, optionally, ``CONFIG_RULES`` (a dict of rules),
``validate_config`` and ``default_config``.

A module that breaks the contract is refused when it is named, in one line naming the contract:
a dataset named as a model, a ``build`` with the wrong arguments, ``CONFIG_RULES`` that is not a
dict. A module named by its path (a plug-in) is returned as a ``Plugin``: its ``build`` and
``validate_config`` report an exception as the user's file and line in one line, and ``build``'s
result is checked against the contract (a model, a dataset, an objective), so a plug-in's failure
never surfaces as a traceback from deep inside lectarch.
"""

import dataclasses
import difflib
import functools
import importlib
import inspect
import types
from collections.abc import Callable, Mapping

from lectarch.config.errors import ConfigError, missing_config_key
from lectarch.config.user_code import user_frames, where

KEYS = {"model": "model.name", "data": "data.name", "objective": "objective"}
_A = {"model": "a model", "data": "a dataset", "objective": "an objective"}
_BUILT_IN = {"model": "a built-in model", "data": "a built-in dataset", "objective": "a built-in objective"}


@dataclasses.dataclass(frozen=True)
class Contract:
    """What a module of one kind provides: ``build(*params) -> returns``.

    ``check(result)`` says what is wrong with what ``build`` returned (``None``: nothing);
    ``wrap(result)`` may wrap it (the objective's check of the model's outputs).
    """

    kind: str
    params: tuple[str, ...]
    returns: str
    check: Callable[[object], str | None] = lambda result: None if result is not None else "it returned None"
    wrap: Callable[[object, str], object] = lambda result, name: result

    def signature(self) -> str:
        return f"build({', '.join(self.params)}) -> {self.returns}"


def _objective_check(result) -> str | None:
    return None if callable(result) else f"it returned {type(result).__name__}, not a function"


def _objective_wrap(fn, name: str):
    """``fn(outputs, batch)``, whose failure on outputs of the wrong shape names both shapes and the contract."""

    @functools.wraps(fn)
    def objective(outputs, batch):
        try:
            return fn(outputs, batch)
        except (TypeError, ValueError, IndexError, AttributeError) as e:
            if user_frames(e):  # a plug-in objective failed: its own file and line
                raise ConfigError(f"config.objective={name!r} failed: {where(e)}") from e
            raise ConfigError(
                f"the model's outputs {_shapes(outputs)} do not fit config.objective={name!r} with targets "
                f"{_shapes(batch.get('targets') if isinstance(batch, Mapping) else None)} "
                f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); a model's __call__ must return "
                f"what its objective scores (lectarch/models/__init__.py)") from e

    return objective


def _shapes(x) -> str:
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"{x.dtype}{list(x.shape)}"
    if isinstance(x, Mapping):
        return "{" + ", ".join(f"{k}: {_shapes(v)}" for k, v in x.items()) + "}"
    if isinstance(x, (list, tuple)):
        return f"{type(x).__name__}({', '.join(_shapes(v) for v in x)})"
    return type(x).__name__


# The contract of each kind. The model and dataset packages give theirs with the type ``build``
# returns (``lectarch.models.CONTRACT``, ``lectarch.data.CONTRACT``); these are the defaults.
CONTRACTS = {
    "model": Contract("model", ("model_cfg", "spec", "rngs"), "an nnx.Module"),
    "data": Contract("data", ("data_cfg", "seed"), "a lectarch.data.spec.Dataset"),
    "objective": Contract("objective", ("cfg",), "fn(outputs, batch) -> (loss, metrics, weight)",
                          check=_objective_check, wrap=_objective_wrap),
}


def resolve(kind: str, name: str, registry: Mapping[str, str], contract: Contract | None = None):
    """The module that builds ``name``: ``registry[name]`` if built in, else the module ``name`` (a ``Plugin``).

    ``kind`` is ``model``, ``data`` or ``objective``; ``registry`` maps built-in names to module paths.
    Anything else, or a module that breaks the kind's contract, is a one-line ``ConfigError``.
    """
    key = f"config.{KEYS.get(kind, kind)}"
    contract = contract or CONTRACTS[kind]
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{key}={name!r} must be a built-in name or a module path")
    if name in registry:
        return Plugin(importlib.import_module(registry[name]), contract, key, name, built_in=True)
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name and e.name != name and not name.startswith(e.name + "."):  # the module imports a missing one
            raise ConfigError(f"{key}={name!r}: importing module {name!r} failed: {where(e)}") from e
        close = difflib.get_close_matches(name, list(registry), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        builtins = ", ".join(repr(n) for n in registry)
        missing = f"no module named {e.name!r}" if e.name else str(e)
        raise ConfigError(f"{key}={name!r} is neither {_BUILT_IN[kind]} ({hint}built-ins: {builtins}) nor an "
                          f"importable module ({missing}; searched the config's folder and sys.path)") from None
    except Exception as e:  # noqa: BLE001 - the user's module failed while importing: say where
        raise ConfigError(f"{key}={name!r}: importing module {name!r} failed: {where(e)}") from e
    except SystemExit as e:
        raise ConfigError(f"{key}={name!r}: importing module {name!r} called sys.exit({e.code!r})") from None
    check_module(module, contract, key, name)
    return Plugin(module, contract, key, name)


def check_module(module: types.ModuleType, contract: Contract, key: str, name: str) -> None:
    """A one-line ``ConfigError`` naming the contract if ``module`` cannot be a ``contract.kind``."""
    what = f"{key}={name!r}: module {module.__name__} ({getattr(module, '__file__', '?')})"
    kind = contract.kind
    build = getattr(module, "build", None)
    if not callable(build):
        raise ConfigError(f"{what} has no build() function, so it cannot be {_A[kind]} ({_A[kind]} module has "
                          f"{contract.signature()})")
    try:
        sig = inspect.signature(build)
    except (TypeError, ValueError):
        sig = None
    if sig is not None:
        try:
            sig.bind(*contract.params)
        except TypeError:
            raise ConfigError(f"{what} is not {_A[kind]} module: its build({', '.join(sig.parameters)}) does not "
                              f"take {_A[kind]}'s arguments ({contract.signature()})") from None
    rules = getattr(module, "CONFIG_RULES", {})
    if not isinstance(rules, Mapping) or not all(isinstance(k, str) and callable(getattr(r, "check", None))
                                                 for k, r in rules.items()):
        raise ConfigError(f"{what}: CONFIG_RULES={_short(rules)} must be a dict of key -> rule "
                          f"(lectarch.config.rules: Range, OneOf, Each)")
    hook = getattr(module, "validate_config", None)
    if hook is not None and not callable(hook):
        raise ConfigError(f"{what}: validate_config={_short(hook)} must be a function validate_config(cfg)")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Plugin:
    """A module resolved for a config: its attributes, with ``build`` and ``validate_config`` that
    keep the contract. For a module named by its path, an exception in either is one line naming the
    user's file and line (``ConfigError``); for every module, what ``build`` returns is checked."""

    def __init__(self, module: types.ModuleType, contract: Contract, key: str, name: str, built_in: bool = False):
        self.module, self.contract, self.key, self.name, self.built_in = module, contract, key, name, built_in

    def __getattr__(self, attr: str):
        return getattr(self.module, attr)

    def __repr__(self) -> str:
        return f"<{self.contract.kind} {self.name!r}: {self.module!r}>"

    def _call(self, what: str, fn: Callable, *args):
        try:
            return fn(*args)
        except ConfigError:
            raise
        except (AttributeError, KeyError) as e:
            missing = missing_config_key(e)
            if missing is not None:  # the module reads a key its part of the config lacks
                frames = user_frames(e)
                at = f" (read at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
                raise ConfigError(self._missing(missing) + at) from None
            if self.built_in:
                raise
            raise ConfigError(f"{self.key}={self.name!r}: {what} failed: {where(e)}") from e
        except Exception as e:  # noqa: BLE001 - the plug-in failed: its file and line, in one line
            if self.built_in:
                raise
            raise ConfigError(f"{self.key}={self.name!r}: {what} failed: {where(e)}") from e
        except SystemExit as e:
            raise ConfigError(f"{self.key}={self.name!r}: {what} called sys.exit({e.code!r})") from None

    def _missing(self, key: str) -> str:
        section = {"model": "config.model", "data": "config.data"}.get(self.contract.kind, "config")
        default = (f"; start {section} from {self.module.__name__}.default_config()"
                   if callable(getattr(self.module, "default_config", None)) else "")
        return f"{self.key}={self.name!r} reads the key {key!r}, which the config does not have{default}"

    def build(self, *args):
        result = self._call("build()", self.module.build, *args)
        problem = self.contract.check(result)
        if problem:
            raise ConfigError(f"{self.key}={self.name!r}: build() of {self.module.__name__} "
                              f"({getattr(self.module, '__file__', '?')}) breaks the {self.contract.kind} contract "
                              f"{self.contract.signature()}: {problem}")
        return self.contract.wrap(result, self.name)

    @property
    def validate_config(self):
        hook = getattr(self.module, "validate_config")  # AttributeError when absent: getattr(p, ..., None) works
        return lambda cfg: self._call("validate_config()", hook, cfg)
