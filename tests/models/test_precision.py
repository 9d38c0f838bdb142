"""One precision policy for every model: ``model.dtype`` is the dtype of every matmul and convolution
(seen in the forward jaxpr), the parameters stay float32, the old key fails naming the new one, and
the digits, copy and adding tasks still learn in bfloat16 (a few steps each)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from lectarch.config import ConfigError
from lectarch.data import build_dataset, pipeline
from lectarch.data.spec import DataSpec, TokenIds
from lectarch.models import build_model
from lectarch.train import objectives, optim
from tests.helpers import config

SEQ2SEQ = DataSpec((8,), 12, input_vocab=12, max_len=8, tokens=TokenIds())

# config, overrides that keep it tiny, the data spec, one batch of inputs (shapes and dtypes)
MODELS = {
    "mlp": ("mlp_digits", ["model.width=16"], DataSpec((64,), 10), jax.ShapeDtypeStruct((2, 64), jnp.float32)),
    "cnn2d": ("cnn_digits", ["model.channels=(4,8)"], DataSpec((8, 8, 1), 10),
              jax.ShapeDtypeStruct((2, 8, 8, 1), jnp.float32)),
    "cnn1d": ("cnn1d_digits", ["model.channels=(4,8)"], DataSpec((16, 1), 10),
              jax.ShapeDtypeStruct((2, 16, 1), jnp.float32)),
    "alexnet": ("alexnet_imagenette", [], DataSpec((67, 67, 3), 10), jax.ShapeDtypeStruct((2, 67, 67, 3), jnp.float32)),
    "tcn": ("tcn_adding", ["model.channels=4", "model.levels=2"], DataSpec((10, 2), 1),
            jax.ShapeDtypeStruct((2, 10, 2), jnp.float32)),
    "rnn": ("adding_rnn", ["model.hidden=8"], DataSpec((10, 2), 1), jax.ShapeDtypeStruct((2, 10, 2), jnp.float32)),
    "lstm": ("adding_lstm", ["model.hidden=8"], DataSpec((10, 2), 1), jax.ShapeDtypeStruct((2, 10, 2), jnp.float32)),
    "deep_bidirectional_lstm": ("adding_lstm", ["model.hidden=8", "model.layers=2", "model.bidirectional=true",
                                                "model.family=many_to_many"],
                                DataSpec((10, 2), 1), jax.ShapeDtypeStruct((2, 10, 2), jnp.float32)),
    "transformer": ("transformer_copy", ["model.d_model=16", "model.d_ff=32", "model.num_heads=2"], SEQ2SEQ,
                    {"src": jax.ShapeDtypeStruct((2, 8), jnp.int32), "tgt_in": jax.ShapeDtypeStruct((2, 8), jnp.int32)}),
}
MATMULS = ("dot_general", "conv_general_dilated")


def _matmul_dtypes(jaxpr) -> set[tuple[str, str]]:
    """``(primitive, operand dtype)`` of every matmul and convolution, sub-programs (scans, custom
    derivatives, remat) included."""
    found = set()
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in MATMULS:
            found |= {(eqn.primitive.name, str(v.aval.dtype)) for v in eqn.invars}
        for p in eqn.params.values():
            for j in (p if isinstance(p, (tuple, list)) else (p,)):
                inner = getattr(j, "jaxpr", j)
                if hasattr(inner, "eqns"):
                    found |= _matmul_dtypes(inner)
    return found


def _abstract(name: str, dtype: str):
    cfg_name, overrides, spec, inputs = MODELS[name]
    cfg = config(cfg_name, *overrides, f"model.dtype={dtype}")
    model = nnx.eval_shape(lambda: build_model(cfg, spec, nnx.Rngs(0)))
    graphdef, state = nnx.split(model)
    return graphdef, state, inputs


@pytest.mark.parametrize("name", list(MODELS))
def test_bfloat16_computes_every_matmul_in_bfloat16_with_float32_parameters(name):
    for dtype, want in (("bfloat16", "bfloat16"), ("float32", "float32")):
        graphdef, state, inputs = _abstract(name, dtype)
        jaxpr = jax.make_jaxpr(lambda s, x: nnx.merge(graphdef, s)(x))(state, inputs)
        found = _matmul_dtypes(jaxpr.jaxpr)
        assert found and {d for _, d in found} == {want}, (name, dtype, sorted(found))
        assert {x.dtype for x in jax.tree.leaves(nnx.state(nnx.merge(graphdef, state), nnx.Param))} == {
            jnp.dtype(jnp.float32)}


def test_the_plugin_contract_reads_the_same_key(repo_root, monkeypatch):
    monkeypatch.syspath_prepend(f"{repo_root}/experiments/plugins")
    import gru_model

    m = gru_model.default_config()
    m.dtype = "bfloat16"
    model = nnx.eval_shape(lambda: gru_model.build(m, DataSpec((6, 3), 4), nnx.Rngs(0)))
    graphdef, state = nnx.split(model)
    jaxpr = jax.make_jaxpr(lambda s, x: nnx.merge(graphdef, s)(x))(state, jax.ShapeDtypeStruct((2, 6, 3), jnp.float32))
    assert {d for _, d in _matmul_dtypes(jaxpr.jaxpr)} == {"bfloat16"}


def test_the_old_recurrent_key_fails_naming_the_new_one(tmp_path):
    path = tmp_path / "old.py"
    path.write_text("from lectarch.config import base_config\n"
                    "from lectarch.data.sequence_tasks import default_config as task\n"
                    "from lectarch.models.recurrent import default_config as recurrent\n"
                    "def get_config():\n    c = base_config()\n    c.objective = 'regression'\n"
                    "    c.model = recurrent('lstm')\n    c.model.matmul_dtype = 'bfloat16'\n"
                    "    c.data = task('adding')\n    return c\n")
    from lectarch.experiment import load_config

    with pytest.raises(ConfigError, match=r"config\.model\.matmul_dtype='bfloat16' was replaced by config\.model\.dtype") as e:
        load_config(path)
    assert "\n" not in str(e.value)


def _learn(cfg, steps: int) -> tuple[float, float]:
    """The first and the last loss of ``steps`` steps of the config's optimizer in bfloat16 on its data
    (one fixed cycle of batches; the loss in float32, as the trainer takes it)."""
    dataset = build_dataset(cfg)
    objective = objectives.build(cfg)
    n = len(dataset.train)
    batches = [jax.tree.map(jnp.asarray, pipeline.stack([dataset.train[(i * 32 + j) % n] for j in range(32)]))
               for i in range(4)]
    graphdef, state = nnx.split(nnx.eval_shape(lambda: build_model(cfg, dataset.spec, nnx.Rngs(0))))
    params = jax.jit(lambda: nnx.state(build_model(cfg, dataset.spec, nnx.Rngs(0)), nnx.Param))()
    rest = nnx.state(nnx.merge(graphdef, state), nnx.Not(nnx.Param))
    tx = optim.optimizer(cfg)

    def loss_of(params, batch):
        return objective(nnx.merge(graphdef, params, rest)(batch["inputs"]), batch)[0]

    @jax.jit
    def run(params):
        def step(carry, i):
            params, opt = carry
            batch = jax.tree.map(lambda *b: jnp.stack(b)[i % len(batches)], *batches)
            loss, g = jax.value_and_grad(loss_of)(params, batch)
            updates, opt = tx.update(g, opt, params)
            return (optax.apply_updates(params, updates), opt), loss

        _, losses = jax.lax.scan(step, (params, tx.init(params)), jnp.arange(steps))
        return losses

    losses = np.asarray(run(params))
    assert losses.dtype == np.float32
    return float(losses[:4].mean()), float(losses[-4:].mean())


@pytest.mark.parametrize("name,overrides,steps,factor", [
    ("mlp_digits", ["model.width=32", "learning_rate=3e-3"], 60, 0.3),
    ("copy_lstm", ["model.hidden=32", "data.T=3", "data.num_train=256", "learning_rate=1e-2"], 80, 0.7),
    ("adding_lstm", ["model.hidden=16", "data.T=10", "data.num_train=256", "learning_rate=1e-2"], 80, 0.5),
])
def test_the_lecture_tasks_still_learn_in_bfloat16(name, overrides, steps, factor):
    first, last = _learn(config(name, *overrides, "model.dtype=bfloat16"), steps)
    assert last < factor * first, (first, last)
