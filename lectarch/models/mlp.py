"""The multi-layer perceptron of the lecture: x -> [Linear -> activation] x depth -> Linear -> logits.

``model.dtype`` is the compute dtype of the dense layers (parameters float32:
``lectarch.models.dtypes``); ``model.remat`` recomputes each hidden layer in the backward pass
(``lectarch.models.remat``).
"""


import jax
import jax.numpy as jnp
import ml_collections
from flax import nnx

from lectarch.config.rules import NON_NEGATIVE_INT, POSITIVE_INT, PROBABILITY, OneOf
from lectarch.data.spec import DataSpec
from lectarch.models.activations import ACTIVATIONS
from lectarch.models.dtypes import DTYPES, RENAMED, compute_dtype
from lectarch.models.remat import REMAT, remat


CONFIG_RULES = {
    "depth": NON_NEGATIVE_INT,
    "width": POSITIVE_INT,
    "activation": OneOf(tuple(ACTIVATIONS)),
    "dropout": PROBABILITY,
    "dtype": OneOf(tuple(DTYPES)),
    "remat": OneOf(REMAT),
    **RENAMED,
}


def default_config() -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict()
    m.name = "mlp"
    m.depth = 2  # hidden layers
    m.width = 128
    m.activation = "relu"
    m.dropout = 0.0
    m.dtype = "float32"  # compute dtype: float32 | bfloat16 (parameters stay float32)
    m.remat = "none"  # none | block | block_save_dots: recompute each hidden layer in the backward pass
    return m


class MLP(nnx.Module):
    """``depth`` hidden layers of ``width`` units; each example's inputs (any shape) are flattened to D values."""

    def __init__(self, in_features: int, num_outputs: int, *, depth: int, width: int,
                 activation: str, dropout: float, dtype: str = "float32", remat: str = "none", rngs: nnx.Rngs,
                 input_shape: tuple[int, ...] = ()):
        self.input_shape = tuple(input_shape) if input_shape else (in_features,)
        sizes = [in_features] + [width] * depth
        dt = compute_dtype(dtype)
        self.hidden = nnx.List([nnx.Linear(a, b, dtype=dt, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:])])
        self.out = nnx.Linear(sizes[-1], num_outputs, dtype=dt, rngs=rngs)
        self.activation, self.dtype, self.remat = activation, dtype, remat
        self.dropout = nnx.Dropout(dropout)

    def __call__(self, x: jax.Array, *, train: bool = False, rngs: nnx.Rngs | None = None) -> jax.Array:
        """Logits ``B x classes`` of inputs ``B x ...`` (flat vectors, images, sequences)."""
        h_BxF = jnp.asarray(x.reshape(x.shape[0], -1), compute_dtype(self.dtype))
        act = ACTIVATIONS[self.activation]
        block = remat(lambda layer, drop, h, rngs: drop(act(layer(h)), deterministic=not train, rngs=rngs),
                      self.remat)
        for layer in self.hidden:
            h_BxF = block(layer, self.dropout, h_BxF, rngs)
        return self.out(h_BxF)

    def pictures(self, inputs: jax.Array) -> dict:
        """The first layer's weights as input-shaped images (one per hidden unit), the input, and the
        hidden activations of the first example, layer by layer."""
        from lectarch.viz.filters import mlp_pictures

        x_1xD = jnp.asarray(inputs)[:1].reshape(1, -1)
        h_1xU, hidden = x_1xD, []
        for layer in self.hidden:
            h_1xU = ACTIVATIONS[self.activation](layer(h_1xU))
            hidden.append(h_1xU)
        return mlp_pictures(x_1xD, self.hidden[0].kernel[...], hidden, self.input_shape) if hidden else {}


def build(cfg: ml_collections.ConfigDict, spec: DataSpec, rngs: nnx.Rngs) -> MLP:
    return MLP(spec.num_features, spec.num_outputs, depth=cfg.depth, width=cfg.width,
               activation=cfg.activation, dropout=cfg.get("dropout", 0.0), dtype=cfg.get("dtype", "float32"),
               remat=cfg.get("remat", "none"), rngs=rngs, input_shape=spec.input_shape)
