"""A GRU classifier: a model that is not built into lectarch, loaded by its module path.

``config.model.name = "gru_model"`` finds this file because it sits beside the config file (the
config's folder is importable, as a script's is). It follows the contract of a built-in model
module: ``build(model_cfg, spec, rngs)``, ``CONFIG_RULES``, ``default_config()`` and, optionally,
``pictures(model, inputs)``, and the precision policy of every model (``lectarch.models.dtypes``):
``model.dtype`` is the matmuls' dtype, the parameters and the state stay float32. The cell runs
under lectarch's ``lax.scan`` (``lectarch.models.scan``) like the built-in Elman and LSTM cells. The GRU of Cho et al. (2014):

    r_t = sigma(W_r x_t + U_r h_{t-1} + b_r)             reset gate
    z_t = sigma(W_z x_t + U_z h_{t-1} + b_z)             update gate
    n_t = tanh(W_n x_t + r_t * (U_n h_{t-1}) + b_n)      candidate state
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx

from lectarch.config.rules import POSITIVE_INT, OneOf
from lectarch.models.dtypes import DTYPES, compute_dtype
from lectarch.models.scan import scan

CONFIG_RULES = {"hidden": POSITIVE_INT, "dtype": OneOf(tuple(DTYPES))}


def default_config() -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict()
    m.name = "gru_model"
    m.hidden = 32
    m.dtype = "float32"  # of the matmuls: float32 | bfloat16 (parameters and state stay float32)
    return m


def _dot(a: jax.Array, b: jax.Array, dtype: str) -> jax.Array:
    """``a @ b`` with both operands in ``dtype``, accumulated in float32."""
    return jnp.dot(a.astype(compute_dtype(dtype)), b.astype(compute_dtype(dtype)), preferred_element_type=jnp.float32)


@dataclasses.dataclass(frozen=True)
class GRUCell:
    """The cell contract of ``lectarch.models.scan``: parameters in a dict, carry ``{"h"}``."""

    hidden: int
    dtype: str = "float32"

    def init_params(self, key: jax.Array, in_features: int) -> dict[str, jax.Array]:
        k_w, k_u = jax.random.split(key)
        scale = 1 / math.sqrt(in_features)
        return {"W": jax.random.uniform(k_w, (in_features, 3 * self.hidden), jnp.float32, -scale, scale),
                "U": jnp.concatenate([jax.nn.initializers.orthogonal()(k, (self.hidden, self.hidden), jnp.float32)
                                      for k in jax.random.split(k_u, 3)], axis=1),
                "b": jnp.zeros((3 * self.hidden,), jnp.float32)}

    def init_carry(self, batch: int) -> dict[str, jax.Array]:
        return {"h": jnp.zeros((batch, self.hidden), jnp.float32)}

    def project(self, params, x_NxD: jax.Array) -> jax.Array:
        """``W x + b`` for the three gates at once (``x`` of any leading shape)."""
        return _dot(x_NxD, params["W"], self.dtype) + params["b"].reshape((1,) * (x_NxD.ndim - 1) + (-1,))

    def step(self, params, carry, xw_t: jax.Array):
        h = carry["h"]
        xr, xz, xn = jnp.split(xw_t, 3, axis=-1)
        ur, uz, un = jnp.split(_dot(h, params["U"], self.dtype), 3, axis=-1)
        r = jax.nn.sigmoid(xr + ur)
        z = jax.nn.sigmoid(xz + uz)
        n = jnp.tanh(xn + r * un)
        h = (1 - z) * n + z * h
        return {"h": h}, h


class GRUClassifier(nnx.Module):
    """Features ``(B, T, F)`` -> GRU over time -> a dense layer on the last state -> logits."""

    def __init__(self, hidden: int, in_features: int, num_classes: int, rngs: nnx.Rngs, dtype: str = "float32"):
        self.cell = GRUCell(hidden, dtype)
        params = self.cell.init_params(rngs.params(), in_features)
        self.W, self.U, self.b = (nnx.Param(params[k]) for k in ("W", "U", "b"))
        self.head = nnx.Linear(hidden, num_classes, dtype=compute_dtype(dtype), rngs=rngs)

    def states(self, x_BxTxF: jax.Array) -> jax.Array:
        """Hidden states ``h_TxBxH``."""
        params = {"W": self.W[...], "U": self.U[...], "b": self.b[...]}
        _, h_TxBxH = scan(self.cell, params, jnp.swapaxes(x_BxTxF.astype(jnp.float32), 0, 1),
                          bptt="autodiff", projection="inside")
        return h_TxBxH

    def __call__(self, inputs: jax.Array, *, train: bool = False, rngs: nnx.Rngs | None = None) -> jax.Array:
        return self.head(self.states(inputs)[-1])

    def pictures(self, inputs) -> dict[str, np.ndarray]:
        """The hidden states of the first example (units x time), scaled to [0, 1]: the ``Pictures``
        capability of ``lectarch.models.capabilities``, so the trainer and ``visualize`` draw it."""
        img = np.asarray(self.states(jnp.asarray(inputs)[:1])[:, 0, :]).T
        lo, hi = img.min(), img.max()
        return {"hidden_states": np.kron((img - lo) / max(hi - lo, 1e-6), np.ones((8, 8)))}


def build(cfg: ml_collections.ConfigDict, spec, rngs: nnx.Rngs) -> GRUClassifier:
    return GRUClassifier(cfg.hidden, spec.input_shape[-1], spec.num_outputs, rngs, cfg.get("dtype", "float32"))

