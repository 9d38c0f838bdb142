"""The probes run on every model family registered in MODELS, on a small version of one of its configs."""

import glob
import os

import jax
import numpy as np
import pytest

from lectarch.experiment import load_config
from lectarch.data import pipeline
from lectarch.inspect import timeflow
from lectarch.inspect.gradflow import layer_probe
from lectarch.experiment import build_run
from lectarch.models import MODELS
from lectarch.train.state import count_params
from tests.conftest import REPO

# The cheapest config of each family, made smaller where its full size would not fit the test budget.
PREFERRED = {
    "mlp": ("mlp_digits", []),
    "cnn": ("cnn_digits", []),
    "alexnet": ("alexnet_imagenette", ["data.image_size=64", "data.resize=72"]),
    "transformer": ("transformer_copy", []),
    "rnn": ("adding_rnn", ["data.T=12", "model.hidden=16"]),
    "lstm": ("deep_lstm_chars", ["model.hidden=16", "data.seq_len=16"]),  # a stacked LSTM
    "tcn": ("tcn_adding", ["data.T=24", "model.levels=2", "model.channels=8"]),
}


def _config_for(family: str):
    name, overrides = PREFERRED.get(family, (None, []))
    if name is None or not os.path.exists(os.path.join(REPO, "experiments", "configs", f"{name}.py")):
        for path in sorted(glob.glob(os.path.join(REPO, "experiments", "configs", "*.py"))):
            cfg = load_config(path)
            if cfg.model.name == family:
                return cfg
        pytest.fail(f"no config in experiments/configs uses model {family!r}")
    return load_config(os.path.join(REPO, "experiments", "configs", f"{name}.py"), overrides)


def _with_random_parameters(run):
    """Concrete parameters drawn with numpy (fast) instead of the model's initialisers (slow for
    AlexNet's 24M parameters on a CPU): the probes, not the initialisation, are under test here."""
    rng = np.random.default_rng(0)
    fill = lambda s: (0.05 * rng.standard_normal(s.shape)).astype(s.dtype)  # noqa: E731
    s = run.state
    run.state = s.replace(params=jax.tree.map(fill, s.params), rest=jax.tree.map(fill, s.rest),
                               step=np.zeros((), np.int32), key=np.asarray(jax.random.PRNGKey(0)))
    run.batch = pipeline.train_batch_at(run.dataset, batch_size=8, seed=0, step=0)
    return run


@pytest.mark.parametrize("family", sorted(MODELS))
def test_probes_run_on_every_model_family(family):
    import tensorflow_datasets as tfds

    cfg = _config_for(family)
    with tfds.testing.mock_data(num_examples=8):
        run = _with_random_parameters(build_run(cfg, batch_size=8, abstract=True, num_devices=1))
    rows = layer_probe(run)
    assert sum(r.num_params for r in rows) == count_params(run.state)  # every parameter, in one layer
    assert all(np.isfinite(r.grad_norm) and np.isfinite(r.param_norm) for r in rows)
    assert max(r.grad_norm for r in rows) > 0
    if timeflow.is_recurrent(run):
        norms = timeflow.time_probe(run)
        assert "0.h" in norms and all(np.all(np.isfinite(v)) for v in norms.values())
        assert max(v.max() for v in norms.values()) > 0
        if hasattr(timeflow._model(run), "stack"):
            svals = timeflow.jacobian_probe(run, times=[1, 2])
            assert set(svals) == {1, 2} and all(np.all(np.isfinite(s)) for s in svals.values())
