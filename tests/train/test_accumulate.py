"""Gradient accumulation: k micro-batches in one compiled step give the update of the whole batch."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lectarch.config import ConfigError
from lectarch.data import build_dataset, pipeline
from lectarch.experiment import build_objective, build_run, open_run, train
from lectarch.train import memory, sharding
from lectarch.train.metrics import read_metrics
from lectarch.train.state import init_state
from lectarch.train.step import make_train_step, micro_batches, step_options
from tests.helpers import config

# label smoothing and clipping on: the update must still be the whole batch's
SETUP = ("model.width=16", "batch_size=32", "label_smoothing=0.1", "clip.global_norm=0.5", "optimizer.name=adam")


def _step(cfg, k: int, graphdef, tx, objective):
    cfg.unlock()
    cfg.accumulate_steps = k
    return make_train_step(graphdef, tx, objective, step_options(cfg, "logging"))


def _setup(*extra, model_dtype: str = ""):
    cfg = config("mlp_digits", *SETUP, *extra)
    if model_dtype:  # a float64 model under x64 (lectarch.models.dtypes; not a config choice)
        cfg.unlock()
        cfg.model.dtype = model_dtype
    ds = build_dataset(cfg)
    graphdef, state, tx = init_state(cfg, ds.spec)
    batch = pipeline.train_batch_at(ds, batch_size=cfg.batch_size, seed=0, step=0)
    return cfg, graphdef, state, tx, build_objective(cfg), batch


def test_micro_batches_take_every_kth_row():
    x = np.arange(12)
    np.testing.assert_array_equal(micro_batches({"x": x}, 3)["x"], [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8, 11]])


@pytest.mark.parametrize("k", [2, 4])
def test_accumulated_update_equals_the_whole_batch_update_in_float32(k):
    cfg, graphdef, state, tx, objective, batch = _setup()
    whole = jax.jit(_step(cfg, 1, graphdef, tx, objective))
    split = jax.jit(_step(cfg, k, graphdef, tx, objective))
    s1, m1 = whole(state, batch)
    sk, mk = split(state, batch)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6), s1.params, sk.params)
    np.testing.assert_allclose(m1["loss"], mk["loss"], rtol=1e-6)
    np.testing.assert_allclose(m1["grad_norm"], mk["grad_norm"], rtol=1e-5)


def test_accumulated_update_equals_the_whole_batch_update_in_float64():
    """SGD here: Adam's first update g / (|g| + eps) turns the last-bit rounding of a near-zero
    gradient into a relative error of its own (the float32 test above covers Adam)."""
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):  # int32 labels meet int64 under x64
        cfg, graphdef, state, tx, objective, batch = _setup("optimizer.name=sgd", model_dtype="float64")
        to64 = lambda t: jax.tree.map(lambda x: jnp.asarray(x, jnp.float64) if jnp.issubdtype(x.dtype, jnp.floating) else x, t)  # noqa: E731
        params = to64(state.params)
        state = state.replace(params=params, opt_state=tx.init(params))
        batch = dict(batch, inputs=np.asarray(batch["inputs"], np.float64))
        s1, _ = jax.jit(_step(cfg, 1, graphdef, tx, objective))(state, batch)
        s4, _ = jax.jit(_step(cfg, 4, graphdef, tx, objective))(state, batch)
        assert jax.tree.leaves(s4.params)[0].dtype == jnp.float64
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12), s1.params, s4.params)


def test_accumulation_over_eight_devices_equals_the_whole_batch_on_one():
    cfg, graphdef, state, tx, objective, batch = _setup()
    one = sharding.make_mesh(1)
    eight = sharding.make_mesh(8)
    s1, _ = sharding.jit_train_step(one, _step(cfg, 1, graphdef, tx, objective))(
        sharding.place_state(one, state), sharding.global_batch(one, batch))
    s8, _ = sharding.jit_train_step(eight, _step(cfg, 2, graphdef, tx, objective))(
        sharding.place_state(eight, state), sharding.global_batch(eight, batch))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6), s1.params, s8.params)


def test_a_batch_that_does_not_split_is_a_config_error():
    with pytest.raises(ConfigError, match="accumulate_steps=3"):
        build_run(config("mlp_digits", "batch_size=32", "accumulate_steps=3"), num_devices=1)
    with pytest.raises(ConfigError, match=r"multiple of 4 x 8 devices = 32"):
        build_run(config("mlp_digits", "batch_size=16", "accumulate_steps=4"))


def test_xla_memory_analysis_shows_the_smaller_peak_of_accumulation():
    """The accumulated step keeps one micro-batch's activations alive: XLA's analysis (what the
    trainer's memory check reads, ``lectarch.train.memory.step_bytes``) shows the lower peak."""
    sizes = {}
    for k in (1, 8):
        run = build_run(config("mlp_digits", "model.width=128", "model.depth=4", "batch_size=8",
                               f"accumulate_steps={k}"), num_devices=1, abstract=True)
        step = sharding.jit_train_step(run.mesh, run.train_step("lean"))
        compiled = step.lower(run.state, run.batch_spec(16384, sharded=False)).compile()
        sizes[k] = memory.step_bytes(compiled)
    assert sizes[8] < sizes[1] / 2, sizes


def test_accumulated_training_resumes_exactly(tmp_path):
    cfg = config("mlp_digits", *SETUP, "accumulate_steps=2", "num_steps=4", "log_every=1", "eval_every=4",
                 "checkpoint_every=2", "progress=false", "pictures=false", "model.dropout=0.1")
    train(cfg, tmp_path / "straight")
    cut = config("mlp_digits", *SETUP, "accumulate_steps=2", "num_steps=2", "log_every=1", "eval_every=4",
                 "checkpoint_every=2", "progress=false", "pictures=false", "model.dropout=0.1")
    train(cut, tmp_path / "resumed")
    train(cfg, tmp_path / "resumed")
    losses = lambda d: [r["loss"] for r in read_metrics(d, "train")]  # noqa: E731
    assert losses(tmp_path / "resumed") == losses(tmp_path / "straight") and len(losses(tmp_path / "straight")) == 4


def test_memory_tools_from_the_command_line(tmp_path, repo_root, capsys):
    """One run through the command line with every tool on: accumulation, the moving average
    (evaluated), remat and bfloat16 compute; then checkpoint averaging of its last 3 checkpoints."""
    from lectarch.cli import main

    run = tmp_path / "ema"
    assert main(["train", "--config", f"{repo_root}/experiments/configs/mlp_digits.py", "--workdir", str(run),
                 "--config.accumulate_steps=2", "--config.ema.decay=0.99", "--config.ema.evaluate=true",
                 "--config.model.remat=block", "--config.model.dtype=bfloat16", "--config.num_steps=6",
                 "--config.log_every=2", "--config.eval_every=6", "--config.checkpoint_every=2",
                 "--config.progress=false", "--config.model.width=16", "--config.batch_size=32"]) == 0
    assert [r["step"] for r in read_metrics(run, "train")] == [2, 4, 6]
    assert main(["average", "--workdir", str(run), "--last", "3", "--out", str(tmp_path / "avg")]) == 0
    assert "steps 2, 4, 6" in capsys.readouterr().out
    assert open_run(tmp_path / "avg").state.ema_params is not None
