"""`lectarch visualize`: pictures restored from any checkpoint equal the ones the trainer drew then."""

import pathlib

import matplotlib.image
import numpy as np

from lectarch.cli import main
from lectarch.train.loop import train
from tests.helpers import config


def _read(path: pathlib.Path) -> np.ndarray:
    return matplotlib.image.imread(path)


def test_pictures_at_eval_steps_and_from_any_checkpoint(tmp_path, capsys):
    cfg = config("cnn_digits", "num_steps=300", "eval_every=150", "checkpoint_every=150", "log_every=150",
                 "progress=false")
    result = train(cfg, tmp_path)
    assert result.last_eval["accuracy"] > 0.85  # the CNN learns digits
    pics = tmp_path / "pictures"
    names = {"filters_layer1", "input", "feature_maps_conv1", "feature_maps_pool1", "feature_maps_conv2",
             "feature_maps_pool2"}
    assert {p.name for p in pics.glob("*_step150.png")} == {f"{n}_step150.png" for n in names}
    by_trainer = {s: _read(pics / f"filters_layer1_step{s}.png") for s in (150, 300)}
    assert not np.array_equal(by_trainer[150], by_trainer[300])  # the filters changed while training

    events_before = set((tmp_path / "tensorboard").iterdir())
    assert main(["visualize", "--workdir", str(tmp_path), "--step", "150"]) == 0
    np.testing.assert_array_equal(_read(pics / "filters_layer1_step150.png"), by_trainer[150])
    assert main(["visualize", "--workdir", str(tmp_path)]) == 0  # the latest checkpoint
    np.testing.assert_array_equal(_read(pics / "filters_layer1_step300.png"), by_trainer[300])
    assert "cnn at step 300" in capsys.readouterr().out
    assert set((tmp_path / "tensorboard").iterdir()) > events_before  # TensorBoard images too


def test_visualize_errors_are_one_line(tmp_path, capsys):
    assert main(["visualize", "--workdir", str(tmp_path)]) == 2
    assert "no config.json" in capsys.readouterr().err
    (tmp_path / "config.json").write_text(config("mlp_digits").to_json())  # a model without pictures
    assert main(["visualize", "--workdir", str(tmp_path)]) == 2
    assert "draws no pictures" in capsys.readouterr().err
    (tmp_path / "config.json").write_text(config("cnn_digits").to_json())  # no checkpoint yet
    assert main(["visualize", "--workdir", str(tmp_path)]) == 2
    assert "holds no checkpoint" in capsys.readouterr().err
