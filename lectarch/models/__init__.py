"""Every model is built the same way: ``build_model(config, spec, rngs)``.

The contract for a model module ``lectarch/models/<file>.py`` registered in ``MODELS``:

- ``build(model_cfg, spec: DataSpec, rngs: nnx.Rngs) -> nnx.Module``;
- the module's ``__call__(inputs, *, train: bool = False, rngs: nnx.Rngs | None = None)`` returns
  what the config's objective expects (logits for classification, predictions for regression);
  dropout draws from ``rngs`` (a ``dropout`` stream) only when ``train`` is true;
- optional ``CONFIG_RULES``: ``{key: Rule}`` for the keys under ``config.model``;
- optional ``validate_config(config)`` for checks across keys (raise ``ConfigError``);
- optional ``pictures(model, inputs) -> dict[str, np.ndarray]``: RGB/greyscale images (HxW or
  HxWx3, floats in [0, 1]) that the trainer writes as PNGs and TensorBoard images at eval steps.

The trainer and the inspection tools know nothing else about a model.
"""

import importlib
import types

import ml_collections
from flax import nnx

from lectarch.data.spec import DataSpec

# config.model.name -> module that builds it. Add one line per new model.
MODELS = {
    "transformer": "lectarch.models.transformer",
    "mlp": "lectarch.models.mlp",
    "rnn": "lectarch.models.recurrent",
    "lstm": "lectarch.models.recurrent",
    "cnn": "lectarch.models.cnn",
    "alexnet": "lectarch.models.alexnet",
    "tcn": "lectarch.models.tcn",
}


def model_module(name: str) -> types.ModuleType:
    return importlib.import_module(MODELS[name])


def build_model(cfg: ml_collections.ConfigDict, spec: DataSpec, rngs: nnx.Rngs) -> nnx.Module:
    """The model named by ``cfg.model.name``, built for data of the given spec."""
    return model_module(cfg.model.name).build(cfg.model, spec, rngs)
