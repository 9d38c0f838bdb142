import numpy as np

from lectarch.data import build_dataset
from tests.helpers import config


def test_digits_split_is_fixed_and_disjoint():
    a = build_dataset(config("mlp_digits", "seed=0"))
    b = build_dataset(config("mlp_digits", "seed=7"))
    assert len(a.train) + len(a.eval) == 1797 and len(a.eval) == 360
    xa = np.stack([a.eval[i]["inputs"] for i in range(len(a.eval))])
    xb = np.stack([b.eval[i]["inputs"] for i in range(len(b.eval))])
    np.testing.assert_array_equal(xa, xb)  # the split does not depend on the experiment seed
    counts = np.bincount([int(a.eval[i]["targets"]) for i in range(len(a.eval))], minlength=10)
    assert counts.min() >= 34 and counts.max() <= 38  # stratified: ~36 test images per class
    assert a.spec.input_shape == (64,) and a.spec.num_outputs == 10
    assert 0.0 <= xa.min() and xa.max() <= 1.0


def test_image_layout():
    ds = build_dataset(config("mlp_digits", "data.layout=image"))
    assert ds.spec.input_shape == (8, 8, 1) and ds.train[0]["inputs"].shape == (8, 8, 1)


def test_the_shipped_split_and_pixels_are_scikit_learns():
    """lectarch reads the digits without importing scikit-learn (a faster start); the arrays equal
    ``load_digits`` and the split ``train_test_split(test_size=0.2, random_state=0, stratify=y)``."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from lectarch.data.digits import TEST_FRACTION, load_arrays

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32).reshape(len(d.images), 64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, d.target, test_size=TEST_FRACTION, random_state=0, stratify=d.target)
    ours = load_arrays("flat")
    np.testing.assert_array_equal(ours["train"][0], x_tr)
    np.testing.assert_array_equal(ours["test"][0], x_te)
    np.testing.assert_array_equal(ours["train"][1], y_tr)
    np.testing.assert_array_equal(ours["test"][1], y_te)
