"""The multi-layer perceptron of the lecture: x -> [Linear -> activation] x depth -> Linear -> logits."""


import jax
import ml_collections
from flax import nnx

from lectarch.config.rules import NON_NEGATIVE_INT, POSITIVE_INT, PROBABILITY, OneOf
from lectarch.data.spec import DataSpec
from lectarch.models.activations import ACTIVATIONS


CONFIG_RULES = {
    "depth": NON_NEGATIVE_INT,
    "width": POSITIVE_INT,
    "activation": OneOf(tuple(ACTIVATIONS)),
    "dropout": PROBABILITY,
}


def default_config() -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict()
    m.name = "mlp"
    m.depth = 2  # hidden layers
    m.width = 128
    m.activation = "relu"
    m.dropout = 0.0
    return m


class MLP(nnx.Module):
    """``depth`` hidden layers of ``width`` units; inputs are flattened per example."""

    def __init__(self, in_features: int, num_outputs: int, *, depth: int, width: int,
                 activation: str, dropout: float, rngs: nnx.Rngs):
        sizes = [in_features] + [width] * depth
        self.hidden = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:])])
        self.out = nnx.Linear(sizes[-1], num_outputs, rngs=rngs)
        self.activation = activation
        self.dropout = nnx.Dropout(dropout)

    def __call__(self, x_BxD: jax.Array, *, train: bool = False, rngs: nnx.Rngs | None = None) -> jax.Array:
        h = x_BxD.reshape(x_BxD.shape[0], -1)
        act = ACTIVATIONS[self.activation]
        for layer in self.hidden:
            h = self.dropout(act(layer(h)), deterministic=not train, rngs=rngs)
        return self.out(h)


def build(cfg: ml_collections.ConfigDict, spec: DataSpec, rngs: nnx.Rngs) -> MLP:
    return MLP(spec.num_features, spec.num_outputs, depth=cfg.depth, width=cfg.width,
               activation=cfg.activation, dropout=cfg.get("dropout", 0.0), rngs=rngs)
