"""Where a NaN enters the backward pass: a plug-in model whose named layer takes the square root of
zero (sqrt'(0) = inf, then inf - inf = nan in the cotangent of h) is named, with its primitive and
source line; a masked infinity (relu's derivative zeroes it) is told apart."""

import pathlib
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lectarch.experiment import build_run, load_config
from lectarch.inspect.backward_nan import locate, locate_nonfinite
from lectarch.inspect.programs import loss_fn
from lectarch.train.step import step_key
from tests.helpers import lectarch

MODEL = '''
    """A plug-in MLP with one bad layer: ``bad_sqrt`` takes the square root of zero (h - h)."""

    import jax
    import jax.numpy as jnp
    import ml_collections
    from flax import nnx

    CONFIG_RULES = {}


    def default_config():
        m = ml_collections.ConfigDict()
        m.name = "sqrt_model"
        m.width = 16
        return m


    class SqrtOfZero(nnx.Module):
        def __init__(self, width, rngs):
            self.linear = nnx.Linear(width, width, rngs=rngs)

        def __call__(self, x):
            h = self.linear(x)
            return h + jnp.sqrt(h - h)  # SQRT LINE


    class Net(nnx.Module):
        def __init__(self, d_in, d_out, width, rngs):
            self.first = nnx.Linear(d_in, width, rngs=rngs)
            self.bad_sqrt = SqrtOfZero(width, rngs)
            self.out = nnx.Linear(width, d_out, rngs=rngs)

        def __call__(self, x, *, train=False, rngs=None):
            h = jnp.tanh(self.first(x.reshape(x.shape[0], -1)))
            return self.out(self.bad_sqrt(h))


    def build(cfg, spec, rngs):
        return Net(spec.num_features, spec.num_outputs, cfg.width, rngs)
'''

CONFIG = '''
    import sqrt_model

    from lectarch.config import base_config
    from lectarch.data.digits import default_config as digits


    def get_config():
        c = base_config()
        c.num_steps = 2
        c.batch_size = 16
        c.model = sqrt_model.default_config()
        c.data = digits()
        return c
'''


@pytest.fixture
def plugin(tmp_path) -> pathlib.Path:
    (tmp_path / "sqrt_model.py").write_text(textwrap.dedent(MODEL))
    (tmp_path / "sqrt_config.py").write_text(textwrap.dedent(CONFIG))
    return tmp_path


def _sqrt_line(folder: pathlib.Path) -> int:
    return next(n for n, line in enumerate((folder / "sqrt_model.py").read_text().splitlines(), 1) if "SQRT LINE" in line)


def test_the_nan_of_a_plugin_layer_is_named_with_its_primitive_module_and_line(plugin):
    run = build_run(load_config(plugin / "sqrt_config.py"), num_devices=1)
    s = run.state
    report = locate_nonfinite(loss_fn(run), s.params, s.rest, run.batch, step_key(s))
    assert report.phase == "backward" and np.isfinite(report.loss)
    site = report.found.site
    assert (site.primitive, site.module) == ("sqrt", "bad_sqrt")
    assert site.line.split(" ")[0].endswith(f"sqrt_model.py:{_sqrt_line(plugin)}")
    assert "bad_sqrt" in report.line() and "sqrt" in report.line()
    # the gradient really is non-finite, and the trail goes on backwards into the layers below
    grads = jax.grad(lambda p: loss_fn(run)(p, s.rest, run.batch, step_key(s), True)[0])(s.params)
    assert not all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))
    assert {f.site.module for f in report.trail} >= {"bad_sqrt", "bad_sqrt.linear", "first"}
    assert report.found.site.line in report.write(plugin / "nan.txt").read_text()


def test_finite_gradients_and_a_forward_nan_are_told_apart():
    x = jnp.array([1.0, 2.0, 0.0])
    assert locate(lambda x: jnp.sum(jnp.sqrt(x + 1.0)), x).phase == "finite"
    forward = locate(lambda x: jnp.sum(jnp.tanh(jnp.log(x) * 0.0)), x)  # log(0) = -inf, then -inf * 0 = nan
    assert forward.phase == "forward" and [f.site.primitive for f in forward.trail][:2] == ["log", "mul"]
    relu = locate(lambda x: jnp.sum(jnp.sqrt(jax.nn.relu(x - 1.5))), x)  # sqrt'(0) = inf, zeroed by relu's select
    assert relu.phase == "finite" and relu.trail[0].site.primitive == "sqrt"
    both = locate(lambda x: jnp.sum(x + jnp.sqrt(x - x)) + jnp.sum(jnp.sqrt(jax.nn.relu(x - 1.5))), x)
    sqrts = sorted(f.site.forward_position() for f in both.trail if f.site.primitive == "sqrt")
    assert both.phase == "backward" and len(sqrts) == 2  # the later sqrt is met first, but its inf is zeroed
    assert both.found.site.primitive == "sqrt" and both.found.site.forward_position() == sqrts[0]
    inside = locate(lambda x: jax.lax.scan(lambda c, v: (c + jnp.sqrt(v * c), None), 1.0, x - 1.0)[0],
                    jnp.array([1.0, 1.0, 2.0]))  # sqrt(0) at the first two steps: the later one is met first
    assert inside.phase == "backward" and inside.found.site.primitive == "sqrt" and inside.found.t == (1,)


def test_gradflow_nan_probe_prints_the_line_and_writes_the_report(plugin, tmp_path):
    out = lectarch("gradflow", "--config", str(plugin / "sqrt_config.py"), "--probe", "nan", "--out", str(tmp_path / "gf"),
                 devices=1)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "backward pass of `sqrt` in module bad_sqrt" in out.stdout
    assert "bad_sqrt" in (tmp_path / "gf" / "nan.txt").read_text()


def test_lectarch_train_names_the_layer_where_the_nan_entered(plugin, tmp_path, capsys):
    """The trainer's non-finite stop (exit 3) says where: the plug-in's bad layer, and writes the report."""
    from lectarch.cli import main

    workdir = tmp_path / "run"
    code = main(["train", "--config", str(plugin / "sqrt_config.py"), "--workdir", str(workdir),
                 "--config.progress=false", "--config.log_every=1"])
    err = capsys.readouterr().err
    assert code == 3, err[-2000:]
    assert "non-finite loss or gradient at step 1" in err
    assert "`sqrt` in module bad_sqrt" in err and f"sqrt_model.py:{_sqrt_line(plugin)}" in err
    assert "bad_sqrt" in (workdir / "nonfinite.txt").read_text()
