"""Experiment configs: one ml_collections ``get_config()`` file per experiment.

``read_config_file(path)`` reads the file (or a workdir's ``config.json``), ``apply_overrides``
applies ``--config.KEY=VALUE`` strings (unknown keys are errors naming the closest valid key), and
``modules.resolve`` finds the module behind a model, dataset or objective name. Validation against
the rules of those modules, and ``load_config``, live at the edge in ``lectarch.experiment``, so this
package imports no model, dataset or trainer.
"""

from lectarch.config.defaults import base_config
from lectarch.config.errors import ConfigError
from lectarch.config.load import apply_overrides, read_config_file, read_config_json

__all__ = ["ConfigError", "apply_overrides", "base_config", "read_config_file", "read_config_json"]
