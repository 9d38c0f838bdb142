"""Built-in names or module paths: how ``config.model.name``, ``config.data.name`` and
``config.objective`` find the module that builds them.

A name is looked up among the built-ins first, then imported as a module path
(``importlib.import_module``), as Python imports a script's neighbours: a user's module needs no
edit of lectarch. Either way the module has the same contract: ``build`` (required) and, optionally,
``CONFIG_RULES``, ``validate_config`` and ``default_config``.
"""

import difflib
import importlib
import types
from collections.abc import Mapping

from lectarch.config.errors import ConfigError
from lectarch.config.user_code import where

KEYS = {"model": "model.name", "data": "data.name", "objective": "objective"}


def resolve(kind: str, name: str, registry: Mapping[str, str]) -> types.ModuleType:
    """The module that builds ``name``: ``registry[name]`` if built in, else the module ``name``.

    ``kind`` is ``model``, ``data`` or ``objective``; ``registry`` maps built-in names to module paths.
    Anything else is a one-line ``ConfigError`` naming what was tried.
    """
    key = f"config.{KEYS.get(kind, kind)}"
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{key}={name!r} must be a built-in name or a module path")
    if name in registry:
        return importlib.import_module(registry[name])
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name and e.name != name and not name.startswith(e.name + "."):  # the module imports a missing one
            raise ConfigError(f"{key}={name!r}: importing module {name!r} failed: {where(e)}") from e
        close = difflib.get_close_matches(name, list(registry), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        builtins = ", ".join(repr(n) for n in registry)
        missing = f"no module named {e.name!r}" if e.name else str(e)
        raise ConfigError(f"{key}={name!r} is neither a built-in {kind} ({hint}built-ins: {builtins}) nor an "
                          f"importable module ({missing}; searched the config's folder and sys.path)") from None
    except Exception as e:  # noqa: BLE001 - the user's module failed while importing: say where
        raise ConfigError(f"{key}={name!r}: importing module {name!r} failed: {where(e)}") from e
    if not callable(getattr(module, "build", None)):
        raise ConfigError(f"{key}={name!r}: module {module.__name__} ({getattr(module, '__file__', '?')}) "
                          f"has no build() function, so it cannot be a {kind}")
    return module
