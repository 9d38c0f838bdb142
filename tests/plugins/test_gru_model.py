"""The worked plug-in's GRU follows Cho et al.'s equations (a NumPy loop) and its parity data is parity."""

import importlib.util
import pathlib

import jax
import numpy as np
from flax import nnx

from lectarch.data.spec import DataSpec
from tests.helpers import REPO

PLUGINS = pathlib.Path(REPO) / "experiments" / "plugins"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_plugin_{name}", PLUGINS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_gru_states_equal_the_equations_in_numpy():
    gru = _load("gru_model")
    model = gru.build(gru.default_config(), DataSpec(input_shape=(5, 3), num_outputs=2), nnx.Rngs(0))
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (2, 5, 3)), np.float32)
    W, U, b = (np.asarray(p[...], np.float64) for p in (model.W, model.U, model.b))
    H = U.shape[0]
    h = np.zeros((2, H))
    expected = []
    for t in range(5):
        a, u = x[:, t] @ W + b, h @ U
        r = _sigmoid(a[:, :H] + u[:, :H])
        z = _sigmoid(a[:, H:2 * H] + u[:, H:2 * H])
        n = np.tanh(a[:, 2 * H:] + r * u[:, 2 * H:])
        h = (1 - z) * n + z * h
        expected.append(h)
    np.testing.assert_allclose(np.asarray(model.states(x)), np.stack(expected), rtol=1e-5, atol=1e-6)


def test_parity_targets_are_the_parity_of_the_bits():
    data = _load("parity_data")
    x, y = data.arrays(T=7, n=100, split=0)
    assert x.shape == (100, 7, 1) and set(np.unique(x)) <= {0.0, 1.0}
    np.testing.assert_array_equal(y, [int(sum(bits)) % 2 for bits in x[..., 0].astype(int)])
    assert 30 < y.sum() < 70  # both classes occur
    x_eval, _ = data.arrays(T=7, n=100, split=1)
    assert not np.array_equal(x, x_eval)
