"""Every model is built the same way: ``build_model(config, spec, rngs)``.

The contract for a model module, built in (``MODELS``) or named by its module path in
``config.model.name`` (e.g. ``my_project.gru``; see ``lectarch.config.modules``):

- ``build(model_cfg, spec: DataSpec, rngs: nnx.Rngs) -> nnx.Module``;
- the module's ``__call__(inputs, *, train: bool = False, rngs: nnx.Rngs | None = None)`` returns
  what the config's objective expects (logits for classification, predictions for regression);
  dropout draws from ``rngs`` (a ``dropout`` stream) only when ``train`` is true;
- the precision policy (``lectarch.models.dtypes``): ``config.model.dtype`` ("float32" or
  "bfloat16") is the dtype of the matmuls and convolutions; parameters, loss, softmax and
  normalisation statistics stay float32 (every built-in model has the key; a plug-in that does
  bf16 compute reads the same key); ``config.model.remat`` (``lectarch.models.remat``) recomputes
  a block's activations in the backward pass;
- optional ``CONFIG_RULES``: ``{key: Rule}`` for the keys under ``config.model``;
- optional ``validate_config(config)`` for checks across keys (raise ``ConfigError``);
- what the built model can do besides (pictures at eval steps, decoding metrics, seq2seq
  decoding, receptive fields, state perturbations) is its methods, declared by the protocols of
  ``lectarch.models.capabilities`` and checked with ``isinstance``.

A module or a built model that breaks this contract (``CONTRACT``: a dataset named as a model,
``build`` returning None, ``__call__`` without ``train=``/``rngs=``) is a one-line error naming it.

The trainer and the inspection tools know nothing else about a model.
"""

import types

import jax
import ml_collections
from flax import nnx

from lectarch.config.modules import Contract, resolve
from lectarch.data.spec import DataSpec
from lectarch.models.capabilities import call_contract_problem

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


# What every model module keeps; a module that does not is refused in one line naming this.
CONTRACT = Contract("model", ("model_cfg", "spec", "rngs"), "an nnx.Module called as model(inputs, train=..., rngs=...)",
                    check=call_contract_problem)


def model_module(name: str) -> types.ModuleType:
    return resolve("model", name, MODELS, CONTRACT)


def build_model(cfg: ml_collections.ConfigDict, spec: DataSpec, rngs: nnx.Rngs) -> nnx.Module:
    """The model named by ``cfg.model.name``, built for data of the given spec.

    Its parameters are waited for here: a model too large for memory fails now, as XLA's
    ``RESOURCE_EXHAUSTED`` (one line at the command line, naming the config's sizes), not later
    as an abort when its first parameter is read.
    """
    model = model_module(cfg.model.name).build(cfg.model, spec, rngs)
    jax.block_until_ready([x for x in jax.tree.leaves(nnx.state(model))
                           if isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer)])
    return model
