"""Every model is built the same way: ``build_model(config, spec, rngs)``.

The contract for a model module, built in (``MODELS``) or named by its module path in
``config.model.name`` (e.g. ``my_project.gru``; see ``lectarch.config.modules``):

- ``build(model_cfg, spec: DataSpec, rngs: nnx.Rngs) -> nnx.Module``;
- the module's ``__call__(inputs, *, train: bool = False, rngs: nnx.Rngs | None = None)`` returns
  what the config's objective expects (logits for classification, predictions for regression);
  dropout draws from ``rngs`` (a ``dropout`` stream) only when ``train`` is true;
- optional ``CONFIG_RULES``: ``{key: Rule}`` for the keys under ``config.model``;
- optional ``validate_config(config)`` for checks across keys (raise ``ConfigError``);
- what the built model can do besides (pictures at eval steps, decoding metrics, seq2seq
  decoding, receptive fields, state perturbations) is its methods, declared by the protocols of
  ``lectarch.models.capabilities`` and checked with ``isinstance``.

The trainer and the inspection tools know nothing else about a model.
"""

import types

import ml_collections
from flax import nnx

from lectarch.config.modules import resolve
from lectarch.data.spec import DataSpec

# Built-in config.model.name -> module that builds it; any other name is imported as a module path.
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
    return resolve("model", name, MODELS)


def build_model(cfg: ml_collections.ConfigDict, spec: DataSpec, rngs: nnx.Rngs) -> nnx.Module:
    """The model named by ``cfg.model.name``, built for data of the given spec."""
    return model_module(cfg.model.name).build(cfg.model, spec, rngs)
