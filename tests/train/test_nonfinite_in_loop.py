"""A NaN that reaches only the gradient, in a real run: never saved, named, exit status nonfinite.

The model's loss carries ``0 * sqrt(|w - w|)``: its value is 0, its gradient ``0 * inf = NaN``, so
the loss of step 1 is finite and every gradient is NaN."""

import textwrap

import pytest

from lectarch.experiment import train
from tests.helpers import config

PLUGIN = textwrap.dedent('''
    import jax.numpy as jnp
    import ml_collections
    from flax import nnx

    class NaNGradient(nnx.Module):
        def __init__(self, d, k, rngs):
            self.linear = nnx.Linear(d, k, rngs=rngs)

        def __call__(self, x, *, train=False, rngs=None):
            w = self.linear.kernel[...]
            x = x.reshape(x.shape[0], -1)
            return self.linear(x) + 0.0 * jnp.sum(jnp.sqrt(jnp.abs(w - w)))

    def default_config():
        m = ml_collections.ConfigDict()
        m.name = "nan_gradient_model"
        return m

    def build(cfg, spec, rngs):
        import numpy as np
        return NaNGradient(int(np.prod(spec.input_shape)), spec.num_outputs, rngs)
''')


@pytest.fixture
def nan_model(tmp_path, monkeypatch):
    (tmp_path / "nan_gradient_model.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "nan_gradient_model"


@pytest.mark.parametrize("check, named_step", [("params", 1), ("loss", 2)])
def test_a_gradient_only_nan_is_never_saved(tmp_path, nan_model, check, named_step):
    cfg = config("mlp_digits", f"model.name={nan_model}", "num_steps=6", "log_every=2", "eval_every=6",
                 "checkpoint_every=2", f"nonfinite_check={check}", "optimizer.name=sgd", "progress=false")
    cfg.model = __import__(nan_model).default_config()
    result = train(cfg, tmp_path / "run")
    assert result.status == "nonfinite"
    assert f"at step {named_step}:" in result.message and "No checkpoint has been saved yet" in result.message
    saved = list((tmp_path / "run" / "checkpoints").glob("*")) if (tmp_path / "run" / "checkpoints").exists() else []
    assert not [p for p in saved if p.name.isdigit()]
