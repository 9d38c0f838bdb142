"""What picks a recurrent model's cell and its initial recurrent matrix: config keys, never a name.

- ``model.cell`` picks the cell; a plug-in copy of the recurrent module under another module name
  builds the same network with the same outputs as the built-in (the model's name decides nothing);
- ``model.recurrent_spectral_radius`` is the spectral radius of every gate's block of R at
  initialisation (NumPy's eigenvalues), and the exploding-gradient config shows the explosion its
  docstring promises through the time probe (||dL/dh_1|| >> ||dL/dh_T||).
"""

import pathlib
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from lectarch.config import ConfigError
from lectarch.data import build_dataset, pipeline
from lectarch.data.spec import DataSpec
from lectarch.inspect.timeflow import time_norms
from lectarch.models import build_model
from lectarch.models.cells import ElmanCell, LSTMCell
from tests.helpers import config

SPEC = DataSpec((6, 2), 1)
X_BxTxF = jnp.asarray(np.random.default_rng(0).normal(size=(3, 6, 2)), jnp.float32)


def _built(cfg, spec=SPEC, seed: int = 0) -> nnx.Module:
    """``build_model`` as one compiled program (eager initialisation dispatches op by op)."""
    graphdef, _ = nnx.split(nnx.eval_shape(lambda: build_model(cfg, spec, nnx.Rngs(seed))))
    state = jax.jit(lambda: nnx.split(build_model(cfg, spec, nnx.Rngs(seed)))[1])()
    return nnx.merge(graphdef, state)


_forward = nnx.jit(lambda model, x: model(x))


@pytest.fixture(scope="module")
def plugin_copy(tmp_path_factory):
    """``lectarch/models/recurrent.py`` copied to a module of another name on the import path."""
    folder = tmp_path_factory.mktemp("plugin")
    shutil.copy(pathlib.Path(__file__).parents[2] / "lectarch" / "models" / "recurrent.py", folder / "my_recurrent.py")
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(folder))
        yield "my_recurrent"


@pytest.mark.parametrize("cell,kind", [("elman", ElmanCell), ("lstm", LSTMCell)])
def test_the_cell_key_picks_the_cell_and_a_plugin_copy_is_the_same_network(plugin_copy, cell, kind):
    base = ["model.hidden=5", f"model.cell={cell}"]
    builtin = _built(config("adding_rnn", *base))
    copied = _built(config("adding_rnn", *base, f"model.name={plugin_copy}"))
    assert type(copied).__module__ == plugin_copy
    assert isinstance(builtin.stack.cell, kind) and type(copied.stack.cell).__name__ == kind.__name__
    np.testing.assert_array_equal(np.asarray(_forward(copied, X_BxTxF)), np.asarray(_forward(builtin, X_BxTxF)))


def test_the_registry_names_only_choose_the_defaults_of_a_new_config():
    assert config("adding_rnn").model.cell == "elman" and config("adding_lstm").model.cell == "lstm"
    as_lstm = nnx.eval_shape(lambda: build_model(config("adding_rnn", "model.cell=lstm", "model.hidden=4"), SPEC,
                                                 nnx.Rngs(0)))
    assert isinstance(as_lstm.stack.cell, LSTMCell)  # model.name is still "rnn": the key decides


@pytest.mark.parametrize("override,match", [("model.cell=gru", "cell"),
                                            ("model.recurrent_spectral_radius=-1.0", "recurrent_spectral_radius")])
def test_bad_cell_keys_are_one_line_errors(override, match):
    with pytest.raises(ConfigError, match=match) as e:
        config("adding_rnn", override)
    assert "\n" not in str(e.value)


def _largest_eigenvalue(R_HxH: np.ndarray) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(R_HxH, np.float64)))))


@pytest.mark.parametrize("name,radius", [("adding_rnn", 2.0), ("adding_rnn", 0.5), ("adding_lstm", 1.5)])
def test_every_block_of_R_has_the_configured_spectral_radius(name, radius):
    cfg = config(name, "model.hidden=16", f"model.recurrent_spectral_radius={radius}")
    R_HxGH = np.asarray(_built(cfg).stack.forward[0].R[...])
    H = R_HxGH.shape[0]
    blocks = [R_HxGH[:, g * H:(g + 1) * H] for g in range(R_HxGH.shape[1] // H)]
    assert len(blocks) == (1 if name == "adding_rnn" else 4)
    for R_HxH in blocks:
        assert _largest_eigenvalue(R_HxH) == pytest.approx(radius, rel=1e-5)
        # every eigenvalue of radius x orthogonal lies on the circle of that radius
        np.testing.assert_allclose(np.abs(np.linalg.eigvals(R_HxH.astype(np.float64))), radius, rtol=1e-4)


def test_the_default_initialisation_is_orthogonal():
    R_HxH = np.asarray(_built(config("adding_rnn", "model.hidden=16")).stack.forward[0].R[...])
    np.testing.assert_allclose(R_HxH @ R_HxH.T, np.eye(16), atol=1e-5)
    R2 = np.asarray(_built(config("adding_rnn", "model.hidden=16", "model.recurrent_spectral_radius=1.0"))
                    .stack.forward[0].R[...])
    np.testing.assert_array_equal(R2, R_HxH)


def _dL_dh_norms(cfg) -> np.ndarray:
    """||dL/dh_t|| over t at initialisation (the time probe: gradients at zero perturbations)."""
    dataset = build_dataset(cfg)
    batch = jax.tree.map(jnp.asarray, pipeline.stack([dataset.train[i] for i in range(cfg.batch_size)]))
    model = _built(cfg, dataset.spec, cfg.seed)
    graphdef, state = nnx.split(model)

    def loss_of(d, state):
        y = nnx.merge(graphdef, state)(batch["inputs"], perturbations=d)
        return jnp.mean((y.reshape(batch["targets"].shape) - batch["targets"]) ** 2)

    zeros = model.zero_perturbations(batch["inputs"])
    return time_norms(jax.jit(jax.grad(loss_of))(zeros, state)["0.h"])


def test_the_exploding_config_explodes_backwards_through_time_and_radius_one_does_not():
    exploding = _dL_dh_norms(config("gradflow_exploding"))
    assert exploding[0] / exploding[-1] > 1e2, exploding  # the docstring: about 7e3
    orthogonal = _dL_dh_norms(config("gradflow_exploding", "model.recurrent_spectral_radius=0.0"))
    assert orthogonal[0] / orthogonal[-1] < 1.0, orthogonal  # radius 1 with tanh: vanishing
