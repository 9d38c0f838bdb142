"""The precision policy every built-in model follows: one key, ``model.dtype``, the compute dtype.

``model.dtype = "float32"`` or ``"bfloat16"`` is the dtype of every matmul and convolution (and of
the activations between them). Whatever it says, the parameters (hence the gradients and the
optimizer state) are float32, and so are the loss (the objectives take the logits in float32),
softmax (attention logits and weights), the statistics of every normalisation (LayerNorm's mean and
variance, weight normalisation's norms) and a recurrent network's carries and gates. A plug-in model
reads the same key and follows the same policy (``lectarch.models`` documents the contract).

The recurrent models' former ``model.matmul_dtype`` is replaced by ``model.dtype``: a config that
still sets it fails with a one-line message naming the new key (``RENAMED``).
"""

import dataclasses

import jax.numpy as jnp

from lectarch.config.errors import ConfigError

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def compute_dtype(name: str) -> jnp.dtype:
    """The dtype a ``model.dtype`` name means (tests may also ask for ``"float64"`` under x64)."""
    return jnp.dtype(DTYPES.get(name, name))


def state_dtype(name: str) -> jnp.dtype:
    """What stays in full precision (carries, gates, statistics): float32, or float64 for a float64 model."""
    return jnp.dtype(jnp.float64) if compute_dtype(name) == jnp.float64 else jnp.dtype(jnp.float32)


@dataclasses.dataclass(frozen=True)
class Renamed:
    """A config rule for a key that no longer exists: its error names the key that replaced it."""

    new_key: str
    note: str = ""

    def check(self, key: str, value) -> None:
        raise ConfigError(f"config.{key}={value!r} was replaced by config.{self.new_key}{self.note}; "
                          f"set config.{self.new_key} instead")


RENAMED = {"matmul_dtype": Renamed("model.dtype", " (one compute dtype for every model)")}
