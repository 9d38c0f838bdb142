"""`lectarch visualize`: pictures restored from any checkpoint equal the ones the trainer drew then."""

import pathlib

import matplotlib.image
import numpy as np

from lectarch.cli import main
from lectarch.experiment import train
from tests.helpers import config


def _read(path: pathlib.Path) -> np.ndarray:
    return matplotlib.image.imread(path)


def test_pictures_at_eval_steps_and_from_any_checkpoint(tmp_path, capsys):
    cfg = config("cnn_digits", "num_steps=300", "eval_every=150", "checkpoint_every=150", "log_every=150",
                 "progress=false", "num_devices=1")  # one device: the pictures do not depend on the count
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


def test_the_mlp_draws_its_first_layer_weights_as_digits_its_input_with_its_class_and_its_activations(tmp_path, capsys):
    cfg = config("mlp_digits", "num_steps=2", "eval_every=2", "checkpoint_every=2", "log_every=2", "progress=false",
                 "pictures=false")
    train(cfg, tmp_path)
    assert main(["visualize", "--workdir", str(tmp_path), "--index", "3"]) == 0
    assert "mlp at step 2, eval example 3: 3 pictures" in capsys.readouterr().out
    for name in ("weights_layer1", "input", "hidden_activations"):
        assert (tmp_path / "pictures" / f"{name}_step2.png").is_file()


def test_visualize_errors_are_one_line(tmp_path, capsys, monkeypatch):
    from flax import nnx

    from lectarch.models import mlp

    class Plain(nnx.Module):  # a model without the Pictures capability (every built-in has it)
        def __init__(self, spec, rngs):
            self.out = nnx.Linear(spec.num_features, spec.num_outputs, rngs=rngs)

        def __call__(self, x, *, train=False, rngs=None):
            return self.out(x.reshape(x.shape[0], -1))

    assert main(["visualize", "--workdir", str(tmp_path)]) == 2
    assert "no config.json" in capsys.readouterr().err
    monkeypatch.setattr(mlp, "build", lambda cfg, spec, rngs: Plain(spec, rngs))
    (tmp_path / "config.json").write_text(config("mlp_digits").to_json())
    assert main(["visualize", "--workdir", str(tmp_path)]) == 2
    assert "draws no pictures" in capsys.readouterr().err
    monkeypatch.undo()
    (tmp_path / "config.json").write_text(config("cnn_digits").to_json())  # no checkpoint yet
    assert main(["visualize", "--workdir", str(tmp_path)]) == 2
    assert "holds no checkpoint" in capsys.readouterr().err
