"""AlexNet exactly as on the lecture's slide (NHWC).

At 224 x 224 x 3 the features end in 6 x 6 x 256 = 9216 values, the input of the classifier.
The slide's network has 61,219,752 parameters for 1000 classes (``count_params``). At another
image size the first Linear layer takes ``256 * h * w`` inputs for the ``h x w`` maps that size
leaves (63 x 63 is the smallest image every layer fits). The compute dtype is ``model.dtype``:
float32, or bfloat16 with float32 parameters (``lectarch.models.dtypes``); ``model.remat``
recomputes each stage of the features in the backward pass (``lectarch.models.remat``).
"""

import jax
import ml_collections
import numpy as np
from flax import nnx

from lectarch.config.rules import PROBABILITY, OneOf
from lectarch.data.spec import DataSpec
from lectarch.models.cnn import Conv, FeatureStackFields, Features, Pool, ReLU, image_shape
from lectarch.models.dtypes import DTYPES, RENAMED, compute_dtype
from lectarch.models.remat import REMAT
from lectarch.viz.filters import conv_pictures


def alexnet_features(in_ch: int = 3) -> list:
    """The slide's feature extractor, layer by layer."""
    return [
        Conv(in_ch, 64, kernel=11, stride=4, padding=2), ReLU(), Pool(3, stride=2),
        Conv(64, 128, kernel=5, padding=2), ReLU(), Pool(3, stride=2),
        Conv(128, 192, kernel=3, padding=1), ReLU(),
        Conv(192, 384, kernel=3, padding=1), ReLU(),
        Conv(384, 256, kernel=3, padding=1), ReLU(),
        Conv(256, 256, kernel=3, padding=1), ReLU(),
        Pool(3, stride=2),
    ]


CONFIG_RULES = {"dropout": PROBABILITY, "dtype": OneOf(tuple(DTYPES)), "remat": OneOf(REMAT), **RENAMED}


def default_config() -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict()
    m.name = "alexnet"
    m.dropout = 0.5
    m.dtype = "float32"  # float32 | bfloat16 (bf16 compute, f32 parameters); f32 is faster on CPU
    m.remat = "none"  # none | block | block_save_dots: recompute each stage of the features in the backward pass
    return m


class AlexNet(FeatureStackFields, nnx.Module):
    """features -> flatten -> Dropout, Linear(256*6*6, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Linear."""

    def __init__(self, image_HxWxC: tuple[int, int, int], num_classes: int, *, dropout: float = 0.5,
                 dtype: str = "float32", remat: str = "none", rngs: nnx.Rngs):
        H, W, C = image_HxWxC
        self.features = Features(alexnet_features(C), dtype=dtype, remat=remat, rngs=rngs)
        flat = int(np.prod(self.features.output_shape(H, W)))  # 256 * 6 * 6 at 224 x 224
        dt = compute_dtype(dtype)
        self.fc1 = nnx.Linear(flat, 4096, dtype=dt, rngs=rngs)
        self.fc2 = nnx.Linear(4096, 4096, dtype=dt, rngs=rngs)
        self.fc3 = nnx.Linear(4096, num_classes, dtype=dt, rngs=rngs)
        self.dropout = nnx.Dropout(dropout)

    def __call__(self, x_BxHxWxC: jax.Array, *, train: bool = False, rngs: nnx.Rngs | None = None) -> jax.Array:
        h = self.features(x_BxHxWxC)
        h_BxF = h.reshape(h.shape[0], -1)
        h_BxF = jax.nn.relu(self.fc1(self.dropout(h_BxF, deterministic=not train, rngs=rngs)))
        h_BxF = jax.nn.relu(self.fc2(self.dropout(h_BxF, deterministic=not train, rngs=rngs)))
        return self.fc3(h_BxF)

    def pictures(self, inputs: jax.Array) -> dict:
        """The slide's "Example Layer 1 Filters" (64 RGB 11x11 filters) and "Example Filtermaps"."""
        return conv_pictures(self.features, inputs)


def build(cfg: ml_collections.ConfigDict, spec: DataSpec, rngs: nnx.Rngs) -> AlexNet:
    return AlexNet(image_shape(spec, "alexnet"), spec.num_outputs, dropout=cfg.dropout, dtype=cfg.dtype,
                   remat=cfg.get("remat", "none"), rngs=rngs)

