"""scikit-learn's handwritten digits (8x8, 1797 images, shipped inside the package: no download).

A fixed, stratified train/test split (seed 0, 20% test) that does not depend on the experiment's
seed, so every run is evaluated on the same 360 images.
"""

import grain
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


def load_arrays(layout: str = "flat") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)  # pixel values 0..16 -> [0, 1]
    x = x.reshape(len(x), 64) if layout == "flat" else x[..., None]
    y = digits.target.astype(np.int32)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=TEST_FRACTION, random_state=0, stratify=y)
    return {"train": (x_tr, y_tr), "test": (x_te, y_te)}


def _records(x: np.ndarray, y: np.ndarray) -> grain.MapDataset:
    return grain.MapDataset.source([{"inputs": xi, "targets": yi} for xi, yi in zip(x, y)])


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
