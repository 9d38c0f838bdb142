"""The TFDS path without TensorFlow, on mock data (no download)."""

import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from lectarch.config import ConfigError
from lectarch.experiment import train
from tests.helpers import config


def _mnist_config(*overrides):
    return config("mlp_digits", "data.name=tfds", *overrides)


def _tfds_cfg():
    from lectarch.data.tfds_source import default_config

    cfg = config("mlp_digits")
    with cfg.unlocked():
        cfg.data = default_config("mnist")
        cfg.num_steps, cfg.log_every, cfg.eval_every, cfg.checkpoint_every = 4, 2, 4, 4
        cfg.batch_size, cfg.eval_batch_size, cfg.progress = 8, 8, False
    return cfg


def test_mnist_mock_data_trains_end_to_end_without_tensorflow(tmp_path):
    with tfds.testing.mock_data(num_examples=24, policy=tfds.testing.MockPolicy.USE_CODE):
        result = train(_tfds_cfg(), tmp_path)
    assert result.status == "finished" and result.step == 4
    assert np.isfinite(result.last_eval["loss"]) and 0 <= result.last_eval["accuracy"] <= 1
    assert "tensorflow" not in sys.modules


def test_unprepared_dataset_says_how_to_prepare_it(tmp_path):
    cfg = _tfds_cfg()
    with cfg.unlocked():
        cfg.data.data_dir = str(tmp_path / "empty")
    with pytest.raises(ConfigError, match=r"not prepared.*tfds build mnist"):
        train(cfg, tmp_path / "w")
