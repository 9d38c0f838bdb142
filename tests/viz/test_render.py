"""Every kind of picture lectarch draws explains itself: a title with the step, labelled axes, a colour
bar where colour is a value (a diverging map centred on zero for signed values), and a legible size.

Each case is the picture of a real (tiny) built-in model, drawn by ``lectarch.viz.render``; the figure
object's texts are checked, and the PNG is read back with PIL."""

import numpy as np
import pytest
from flax import nnx
from PIL import Image

from lectarch.data import build_dataset
from lectarch.models import build_model
from lectarch.viz import render
from lectarch.viz.model_pictures import model_pictures
from lectarch.viz.picture import Picture, as_picture, image
from tests.helpers import config

CASES = {  # config and overrides -> {picture name: kind}
    ("cnn_digits", "model.channels=(4, 6)"): {"filters_layer1": "tiles", "input": "image",
                                              "feature_maps_conv1": "tiles", "feature_maps_pool2": "tiles"},
    ("mlp_digits", "model.width=20"): {"weights_layer1": "tiles", "input": "image", "hidden_activations": "heatmaps"},
    ("adding_lstm", "data.T=12", "model.hidden=8"): {"hidden_states": "heatmaps"},
    ("family_encoder_decoder",): {"hidden_states_encoder": "heatmaps", "hidden_states_decoder": "heatmaps"},
    ("transformer_reverse", "model.num_encoder_layers=1", "model.num_decoder_layers=1", "model.d_model=16",
     "model.d_ff=16", "model.num_heads=2"): {"attention_cross_layer0": "heatmaps",
                                             "attention_encoder_self_layer0": "heatmaps"},
    ("cnn1d_digits",): {"filters_layer1": "curves", "feature_maps": "signal"},
}


def _pictures(name, *overrides):
    cfg = config(name, *overrides)
    dataset = build_dataset(cfg)
    model = build_model(cfg, dataset.spec, nnx.Rngs(0))
    return model_pictures(model, dataset, 0), dataset


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text()]


def _colour_bars(fig) -> list:
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


@pytest.fixture(scope="module")
def drawn():
    return {key: _pictures(*key) for key in CASES}


@pytest.mark.parametrize("key", list(CASES), ids=[k[0] for k in CASES])
def test_each_picture_has_a_title_with_the_step_labelled_axes_and_a_legible_size(key, drawn, tmp_path):
    pictures, _ = drawn[key]
    for name, kind in CASES[key].items():
        p = pictures[name]
        assert isinstance(p, Picture) and p.kind == kind, (name, p.kind)
        fig = render.figure(p, step=7)
        assert fig._suptitle.get_text().endswith(", step 7") and len(fig._suptitle.get_text()) > 12
        panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.axison]
        supx, supy = (getattr(fig, a) and getattr(fig, a).get_text() for a in ("_supxlabel", "_supylabel"))
        assert supy or all(ax.get_ylabel() for ax in panels), name  # every panel says what its rows are
        assert supx or panels[-1].get_xlabel(), name  # and the (shared) x axis what its columns are
        colour_is_a_value = kind != "curves" and not (kind == "tiles" and p.data.ndim == 4)  # curves, RGB
        if colour_is_a_value:
            bars = _colour_bars(fig)
            assert bars and all(b.get_ylabel() for b in bars), name
        if p.signed and kind in ("tiles", "heatmaps"):
            image_ax = next(ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>")
            im = image_ax.images[0]
            assert im.get_cmap().name.startswith("RdBu_r") and im.norm.vmin == -im.norm.vmax  # centred on zero
        path = tmp_path / f"{name}.png"
        render.save_rgb(path, render.to_rgb(fig))
        with Image.open(path) as png:
            w, h = png.size
        assert w >= render.MIN_WIDTH_PX and h >= render.MIN_HEIGHT_PX, (name, w, h)


def test_the_input_names_its_class_and_attention_names_its_tokens(drawn):
    cnn, dataset = drawn[("cnn_digits", "model.channels=(4, 6)")]
    assert cnn["input"].title.endswith(f"class {int(dataset.eval[0]['targets'])}")
    attention, _ = drawn[next(k for k in CASES if k[0] == "transformer_reverse")]
    cross = attention["attention_cross_layer0"]
    fig = render.figure(cross, step=0)
    first = fig.axes[0]
    assert [t.get_text() for t in first.get_xticklabels()] == list(cross.xticklabels)  # keys: source tokens
    assert [t.get_text() for t in first.get_yticklabels()] == list(cross.yticklabels)  # queries: target tokens
    assert len(cross.xticklabels) == cross.data.shape[2] and len(cross.yticklabels) == cross.data.shape[1]
    assert [ax.get_title() for ax in fig.axes[:2]] == ["head 0", "head 1"]


def test_tiles_are_enlarged_without_blur_and_gaps_and_empty_tiles_are_blank():
    w = np.zeros((3, 2, 2), np.float32)
    w[0] = [[1, -1], [-1, 1]]  # a checkerboard filter; 3 tiles leave the 4th cell of a 2x2 grid empty
    p = as_picture("t", Picture("tiles", "checker", w, xlabel="x", ylabel="y", value_label="weight", signed=True))
    fig = render.figure(p)
    ax = fig.axes[0]
    im = ax.images[0]
    assert im.get_interpolation() == "nearest"
    data = np.ma.getdata(im.get_array())
    assert np.isnan(data[:, 2]).all() and np.isnan(data[3:, 3:]).all()  # the gap column and the empty tile
    assert im.get_cmap().get_bad()[3] == 0  # drawn transparent: the paper, not a colour of the scale
    render.pyplot().close(fig)


def test_a_bare_array_from_a_users_model_is_drawn_as_a_titled_image():
    p = as_picture("hidden_states", np.random.default_rng(0).random((6, 10)))
    assert p.kind == "image" and p.title == "hidden states"
    rgb = render.rendered("hidden_states", p, 3)
    assert rgb.dtype == np.uint8 and rgb.shape[1] >= render.MIN_WIDTH_PX and rgb.shape[0] >= render.MIN_HEIGHT_PX
    assert image(np.arange(64.0)).data.shape == (8, 8)  # a flat square input is shown square


def test_models_return_data_and_never_import_matplotlib():
    import pathlib

    models = pathlib.Path(__file__).resolve().parents[2] / "lectarch" / "models"
    assert [p.name for p in models.glob("*.py") if "matplotlib" in p.read_text()] == []
    picture = (models.parent / "viz" / "picture.py").read_text()
    assert "matplotlib" not in picture.split('"""', 2)[2]  # the data module imports NumPy only
