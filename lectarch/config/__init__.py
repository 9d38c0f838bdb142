"""Experiment configs: one ml_collections ``get_config()`` file per experiment.

``load_config(path, overrides)`` reads the file, applies ``--config.KEY=VALUE`` overrides (unknown
keys are errors naming the closest valid key) and validates every value against ``rules`` before
anything is compiled.
"""

from lectarch.config.defaults import base_config
from lectarch.config.errors import ConfigError
from lectarch.config.load import apply_overrides, load_config
from lectarch.config.validate import validate

__all__ = ["ConfigError", "apply_overrides", "base_config", "load_config", "validate"]
