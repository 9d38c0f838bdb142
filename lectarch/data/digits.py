"""scikit-learn's handwritten digits (8x8, 1797 images, shipped inside the package: no download).

A fixed, stratified train/test split (seed 0, 20% test) that does not depend on the experiment's
seed, so every run is evaluated on the same 360 images.
"""

import pathlib

import ml_collections
import numpy as np

from lectarch.config.rules import OneOf
from lectarch.data.spec import DataSpec, Dataset


CONFIG_RULES = {"layout": OneOf(("flat", "image")), "as_sequence": OneOf(("none", "steps", "rows"))}
TEST_FRACTION = 0.2


def default_config() -> ml_collections.ConfigDict:
    d = ml_collections.ConfigDict()
    d.name = "digits"
    d.layout = "flat"  # flat: (64,) ; image: (8, 8, 1) for convolutional models
    d.as_sequence = "none"  # steps: 64 steps of 1 pixel (sequential digits); rows: 8 rows of 8 (layout=image)
    return d


def _raw() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 images (0..16) and labels, read from the file scikit-learn ships (``load_digits`` reads
    the same file), without importing scikit-learn and SciPy: commands start faster."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the digits need scikit-learn installed (make install)")
    path = pathlib.Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    data = np.loadtxt(path, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(np.int32)


def load_arrays(layout: str = "flat") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The train and test splits: the indices of scikit-learn's ``train_test_split(test_size=0.2,
    random_state=0, stratify=labels)``, shipped in ``digits_split.npz`` (tests/data/test_digits.py
    checks them against scikit-learn)."""
    images, y = _raw()
    x = (images / 16.0).astype(np.float32)  # pixel values 0..16 -> [0, 1]
    x = x.reshape(len(x), 64) if layout == "flat" else x[..., None]
    split = np.load(pathlib.Path(__file__).with_name("digits_split.npz"))
    return {name: (x[split[key]], y[split[key]]) for name, key in (("train", "train"), ("test", "test"))}


def _records(x: np.ndarray, y: np.ndarray) -> list[dict]:
    return [{"inputs": xi, "targets": yi} for xi, yi in zip(x, y)]


def input_shape(cfg: ml_collections.ConfigDict) -> tuple[int, ...]:
    """The shape of one input from the config alone: 64 pixels flat, or an 8x8x1 image."""
    return (64,) if cfg.get("layout", "flat") == "flat" else (8, 8, 1)


def build(cfg: ml_collections.ConfigDict, seed: int) -> Dataset:
    del seed  # the split is fixed
    layout = cfg.get("layout", "flat")
    arrays = load_arrays(layout)
    shape = input_shape(cfg)
    return Dataset(spec=DataSpec(input_shape=shape, num_outputs=10),
                   train=_records(*arrays["train"]), eval=_records(*arrays["test"]), name="digits")
