"""Read a config file or a saved ``config.json``; apply command-line overrides.

Validation needs the model, dataset and objective modules, so it lives at the edge:
``lectarch.experiment.load_config`` reads, overrides, validates and locks.
"""

import ast
import difflib
import json
import pathlib
from collections.abc import Sequence

import ml_collections

from lectarch.config.errors import ConfigError
from lectarch.config.user_code import add_import_path, exec_file, run_user_code


def _flat_keys(cfg: ml_collections.ConfigDict, prefix: str = "") -> list[str]:
    keys = []
    for k, v in cfg.items():
        keys.append(prefix + k)
        if isinstance(v, ml_collections.ConfigDict):
            keys.extend(_flat_keys(v, prefix + k + "."))
    return keys


def read_config_file(path: str | pathlib.Path) -> ml_collections.ConfigDict:
    """The config of an experiment file's ``get_config()``, or of a workdir's ``config.json``.

    The file's folder becomes importable (as Python does for a script), so a config can name a model,
    dataset or objective module that sits beside it; the folder is recorded as ``import_path``, so a
    ``config.json`` written from this config finds the same modules again.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        raise ConfigError(f"config file {str(path)!r} is a directory, not a file with get_config()")
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    if path.suffix == ".json":
        return read_config_json(path)
    if path.suffix != ".py":
        raise ConfigError(f"config file {str(path)!r} is neither a Python file (.py, with get_config()) nor a "
                          f"workdir's config.json")
    module = exec_file(path, "_lectarch_config_")
    if not hasattr(module, "get_config"):
        raise ConfigError(f"config file {str(path)!r} has no get_config() function")
    cfg = run_user_code(path, "get_config() of", module.get_config)
    if not isinstance(cfg, ml_collections.ConfigDict):
        raise ConfigError(f"{str(path)!r}: get_config() must return an ml_collections.ConfigDict")
    if not cfg.get("import_path"):
        with cfg.unlocked():
            cfg.import_path = str(path.resolve().parent)
    return cfg


def read_config_json(path: str | pathlib.Path) -> ml_collections.ConfigDict:
    """A config saved as JSON (a workdir's ``config.json``); its ``import_path`` becomes importable."""
    path = pathlib.Path(path)
    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"{str(path)!r} is not a readable config ({type(e).__name__}: {e})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{str(path)!r} is not a config: it holds a JSON {_json_kind(values)}, not an object of "
                          f"keys (a workdir's config.json is one)")
    try:
        cfg = ml_collections.ConfigDict(values)
    except (TypeError, ValueError, KeyError) as e:  # e.g. a key with a dot in it
        raise ConfigError(f"{str(path)!r} is not a config ({str(e).splitlines()[0]})") from None
    import_path = cfg.get("import_path", "")
    add_import_path(import_path if isinstance(import_path, str) else "")
    return cfg


def _json_kind(value) -> str:
    return {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(value), "null")


def _parse_value(key: str, text: str, current):
    """Parse ``text`` to the type of the config's current value."""
    if isinstance(current, bool):
        low = text.lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise ConfigError(f"config.{key}={text!r} is not a boolean (true or false)")
    if isinstance(current, int):
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"config.{key}={text!r} is not an integer") from None
    if isinstance(current, float):
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"config.{key}={text!r} is not a number") from None
    if isinstance(current, str) or current is None:
        return text
    if isinstance(current, (tuple, list)):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = tuple(v.strip() for v in text.split(",") if v.strip())
        if not isinstance(value, (tuple, list)):
            value = (value,)
        return type(current)(value)
    raise ConfigError(f"config.{key} cannot be set from the command line (type {type(current).__name__})")


def apply_overrides(cfg: ml_collections.ConfigDict, overrides: Sequence[str]) -> ml_collections.ConfigDict:
    """Apply ``KEY=VALUE`` strings (``KEY`` dotted, without the ``config.`` prefix)."""
    valid = _flat_keys(cfg)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like --config.KEY=VALUE")
        key, text = item.split("=", 1)
        key = key.removeprefix("--").removeprefix("config.")
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
            hint = f"; did you mean config.{close[0]}?" if close else ""
            raise ConfigError(f"unknown config key config.{key}{hint}")
        parent, _, leaf = key.rpartition(".")
        node = cfg
        for part in filter(None, parent.split(".")):
            node = node[part]
        current = node[leaf]
        if isinstance(current, ml_collections.ConfigDict):
            raise ConfigError(f"config.{key} is a group; set one of its keys instead")
        with node.unlocked():
            node[leaf] = _parse_value(key, text, current)
    return cfg
