"""The lecture's AlexNet: the slide's layers, 6x6x256 features at 224, parameter count, dtypes,
and one tiny end-to-end run on TFDS mock data (shape checks use eval_shape: nothing is allocated)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds
from flax import nnx

from lectarch.config import ConfigError
from lectarch.models import build_model
from lectarch.models.cnn import Conv, Pool
from lectarch.data.spec import DataSpec
from lectarch.experiment import train
from tests.helpers import config

# The slide: (in, out, kernel, stride, padding) of each convolution; max pooling 3/2 after 1, 2, 6.
SLIDE_CONVS = [(3, 64, 11, 4, 2), (64, 128, 5, 1, 2), (128, 192, 3, 1, 1), (192, 384, 3, 1, 1),
               (384, 256, 3, 1, 1), (256, 256, 3, 1, 1)]


def _abstract(size: int, *overrides, classes: int = 1000):
    cfg = config("alexnet_imagenette", *overrides)
    return nnx.eval_shape(lambda: build_model(cfg, DataSpec((size, size, 3), classes), nnx.Rngs(0)))

def shape_of(model, f, x: jax.ShapeDtypeStruct) -> jax.ShapeDtypeStruct:
    """``f(model, x)``'s shape and dtype for an abstract model (from nnx.eval_shape): nothing is computed."""
    graphdef, state = nnx.split(model)
    return jax.eval_shape(lambda s, x: f(nnx.merge(graphdef, s), x), state, x)



def test_layers_are_the_slide():
    layers = _abstract(224).features.layers
    convs = [(L.in_ch, L.out_ch, L.kernel, L.stride, L.padding) for L in layers if isinstance(L, Conv)]
    assert convs == SLIDE_CONVS
    kinds = ["conv" if isinstance(L, Conv) else "pool" if isinstance(L, Pool) else "relu" for L in layers]
    assert kinds == ["conv", "relu", "pool", "conv", "relu", "pool"] + ["conv", "relu"] * 4 + ["pool"]
    assert all((L.window, L.stride, L.kind) == (3, 2, "max") for L in layers if isinstance(L, Pool))


def test_224_gives_6x6x256_features_and_the_slide_parameter_count():
    model = _abstract(224)
    x = jax.ShapeDtypeStruct((2, 224, 224, 3), jnp.float32)
    assert shape_of(model, lambda m, x: m.features(x), x).shape == (2, 6, 6, 256)
    assert shape_of(model, lambda m, x: m(x), x).shape == (2, 1000)
    convs = sum(k * k * i * o + o for i, o, k, _, _ in SLIDE_CONVS)
    dense = (256 * 6 * 6 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert sum(p.size for p in jax.tree.leaves(nnx.state(model, nnx.Param))) == convs + dense == 61_219_752


def test_bfloat16_compute_with_float32_parameters():
    model = _abstract(224, "model.dtype=bfloat16")
    y = shape_of(model, lambda m, x: m(x), jax.ShapeDtypeStruct((1, 224, 224, 3), jnp.float32))
    assert y.dtype == jnp.bfloat16
    assert {p.dtype for p in jax.tree.leaves(nnx.state(model, nnx.Param))} == {jnp.dtype(jnp.float32)}


def test_63_is_the_smallest_image_the_slide_fits():
    model = _abstract(63)
    assert shape_of(model, lambda m, x: m.features(x), jax.ShapeDtypeStruct((1, 63, 63, 3), jnp.float32)).shape == (1, 1, 1, 256)
    with pytest.raises(ConfigError, match="too small"):
        _abstract(62)


def test_alexnet_trains_end_to_end_on_mock_imagenette(tmp_path):
    cfg = config("alexnet_imagenette", "data.image_size=63", "data.resize=72", "batch_size=8", "eval_batch_size=8",
                 "num_steps=2", "log_every=1", "eval_every=2", "checkpoint_every=2", "progress=false",
                 "schedule.warmup_steps=1", "num_devices=1")  # one device: the 8-device path is tested on the CNN
    with tfds.testing.mock_data(num_examples=16, policy=tfds.testing.MockPolicy.USE_CODE):
        result = train(cfg, tmp_path)
    assert result.status == "finished" and result.step == 2 and np.isfinite(result.last_eval["loss"])
    filters = tmp_path / "pictures" / "filters_layer1_step2.png"
    assert filters.exists() and (tmp_path / "pictures" / "feature_maps_conv6_step2.png").exists()
    import matplotlib.image

    assert matplotlib.image.imread(filters).shape[2] in (3, 4)  # 64 RGB filters of 11x11x3
