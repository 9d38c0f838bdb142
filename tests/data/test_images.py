"""TFDS image pipeline on tfds.testing.mock_data: decode, resize, crop, flip, normalise, no TensorFlow."""

import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from lectarch.config import ConfigError
from lectarch.data import build_dataset, pipeline
from lectarch.data import images
from lectarch.data.tfds_source import open_source
from tests.helpers import config


def _cfg(tfds_name: str, *overrides):
    cfg = config("cnn_digits")
    with cfg.unlocked():
        cfg.data = images.default_config(tfds_name)
    from lectarch.config import apply_overrides
    from lectarch.experiment import validate

    apply_overrides(cfg, [o.removeprefix("--config.") for o in overrides])
    validate(cfg)
    return cfg


@pytest.fixture
def mock():
    with tfds.testing.mock_data(num_examples=8, policy=tfds.testing.MockPolicy.USE_CODE):
        yield


def test_cifar_elements_are_scaled_and_normalised_per_channel(mock):
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.5)
    ds = build_dataset(_cfg("cifar10", f"data.mean={mean}", f"data.std={std}"))
    assert ds.spec.input_shape == (32, 32, 3) and ds.spec.num_outputs == 10
    raw = np.asarray(open_source("cifar10", "test")[3]["image"], np.float32) / 255.0
    x = ds.eval[3]["inputs"]
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, (raw - np.array(mean)) / np.array(std), rtol=1e-5, atol=1e-6)
    assert "tensorflow" not in sys.modules


def test_resize_keeps_aspect_and_makes_the_shorter_side_the_target():
    img = np.random.default_rng(0).integers(0, 256, (43, 33, 3), dtype=np.uint8)
    out = images.resize_shorter_side(img, 28)
    assert out.shape == (36, 28, 3) and out.dtype == np.uint8
    grey = images.resize_shorter_side(img[:, :, :1], 50)
    assert grey.shape == (65, 50, 1)


def test_variable_size_images_become_fixed_size_crops(mock):
    ds = build_dataset(_cfg("imagenette", "data.image_size=24", "data.resize=28", "data.eval_split=validation"))
    assert ds.spec.input_shape == (24, 24, 3)
    batch = pipeline.train_batch_at(ds, batch_size=4, seed=0, step=1)
    assert batch["inputs"].shape == (4, 24, 24, 3) and batch["inputs"].dtype == np.float32
    assert all(ds.eval[i]["inputs"].shape == (24, 24, 3) for i in range(len(ds.eval)))
    np.testing.assert_array_equal(ds.eval[0]["inputs"], ds.eval[0]["inputs"])  # eval: centre crop, no randomness


def test_random_crops_differ_and_stay_inside_the_image():
    img = np.arange(10 * 12 * 1, dtype=np.uint8).reshape(10, 12, 1)
    crops = [images.random_crop(img, 6, np.random.default_rng(s)) for s in range(20)]
    corners = {(int(c[0, 0, 0]) // 12, int(c[0, 0, 0]) % 12) for c in crops}
    assert len(corners) > 3 and all(r <= 4 and c <= 6 for r, c in corners)
    assert all(c.shape == (6, 6, 1) for c in crops)
    np.testing.assert_array_equal(images.center_crop(img, 6), img[2:8, 3:9])


def test_flip_mirrors_half_of_the_time(mock):
    ds = build_dataset(_cfg("cifar10", "data.random_crop=false", "data.random_flip=true"))
    element = ds.train[0]
    outs = [ds.augment(element, np.random.default_rng(s))["inputs"] for s in range(16)]
    plain = images.normalise(element["inputs"], (), ())
    flipped = [np.array_equal(o, plain[:, ::-1]) for o in outs]
    assert all(f or np.array_equal(o, plain) for f, o in zip(flipped, outs))
    assert 0 < sum(flipped) < len(outs)


def test_cifar_style_padding_and_crop(mock):
    ds = build_dataset(_cfg("cifar10", "data.crop_padding=4", "data.random_flip=false"))
    assert ds.train[0]["inputs"].shape == (40, 40, 3)  # padded, cropped by augment
    out = ds.augment(ds.train[0], np.random.default_rng(0))["inputs"]
    assert out.shape == (32, 32, 3)


@pytest.mark.parametrize("overrides,match", [
    (("data.mean=(0.5,)", "data.std=()"), "same length"),
    (("data.image_size=32", "data.resize=16"), "resize"),
    (("data.std=(0.0,)", "data.mean=(0.5,)"), "std"),
])
def test_bad_image_configs_are_one_line_errors(overrides, match):
    with pytest.raises(ConfigError, match=match):
        _cfg("cifar10", *overrides)


def test_unprepared_dataset_says_how_to_prepare_it(tmp_path):
    cfg = _cfg("imagenette", f"data.data_dir={tmp_path}", "data.image_size=32")
    with pytest.raises(ConfigError, match=r"not prepared.*tfds build imagenette"):
        build_dataset(cfg)


def test_variable_size_dataset_without_image_size_is_an_error(mock):
    with pytest.raises(ConfigError, match="image_size"):
        build_dataset(_cfg("imagenette", "data.eval_split=validation"))
