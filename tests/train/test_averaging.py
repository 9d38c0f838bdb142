"""Weight averaging: the parameters' moving average in the state (config.ema), and checkpoint averaging."""

import jax
import numpy as np
import pytest

from lectarch.cli import main
from lectarch.data import build_dataset, pipeline
from lectarch.experiment import build_objective, open_run, train
from lectarch.train.checkpoint import Checkpointer
from lectarch.train.metrics import read_metrics
from lectarch.train.state import init_state
from lectarch.train.step import make_train_step, step_options
from tests.helpers import config

RUN = ("model.width=8", "batch_size=16", "eval_batch_size=120", "progress=false", "pictures=false", "log_every=1",
       "checkpoint_every=1", "max_to_keep=10")


def test_the_moving_average_follows_its_formula_step_by_step():
    d = 0.8
    cfg = config("mlp_digits", *RUN, f"ema.decay={d}")
    ds = build_dataset(cfg)
    graphdef, state, tx = init_state(cfg, ds.spec)
    step = jax.jit(make_train_step(graphdef, tx, build_objective(cfg), step_options(cfg, "lean")))
    expected = jax.device_get(state.params)
    jax.tree.map(np.testing.assert_array_equal, expected, jax.device_get(state.ema_params))  # starts at theta_0
    for s in range(3):
        state, _ = step(state, pipeline.train_batch_at(ds, batch_size=16, seed=0, step=s))
        params = jax.device_get(state.params)
        expected = jax.tree.map(lambda e, p: d * e + (1 - d) * p, expected, params)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), jax.device_get(state.ema_params), expected)
    assert not np.allclose(jax.tree.leaves(params)[0], jax.tree.leaves(expected)[0])


def test_without_ema_the_state_and_checkpoint_hold_no_average():
    cfg = config("mlp_digits", *RUN)
    _, state, _ = init_state(cfg, build_dataset(cfg).spec)
    assert state.ema_params is None


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory):
    w = tmp_path_factory.mktemp("ema")
    cfg = config("mlp_digits", *RUN, "num_steps=4", "eval_every=2", "ema.decay=0.5", "ema.evaluate=true")
    assert train(cfg, w).status == "finished"
    return w, cfg


def test_the_average_is_checkpointed_resumed_exactly_and_evaluated_when_asked(ema_run, tmp_path):
    w, cfg = ema_run
    cut = config("mlp_digits", *RUN, "num_steps=2", "eval_every=2", "ema.decay=0.5", "ema.evaluate=true")
    train(cut, tmp_path)
    train(cfg, tmp_path)  # resumes from step 2
    a, b = open_run(w), open_run(tmp_path)
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(a.state.ema_params), jax.device_get(b.state.ema_params))
    assert [r["loss"] for r in read_metrics(w, "train")] == [r["loss"] for r in read_metrics(tmp_path, "train")]
    # the logged eval is the average's: the model at ema_params, not at params
    from lectarch.train import sharding
    from lectarch.train.loop import evaluate
    from lectarch.train.step import make_eval_step

    run = open_run(w)
    logged = read_metrics(w, "eval")[-1]["loss"]
    for averaged, equal in ((True, True), (False, False)):
        step = sharding.jit_eval_step(run.mesh, make_eval_step(run.graphdef, run.objective, averaged=averaged))
        loss = evaluate(step, run.mesh, run.state, run.dataset, cfg.eval_batch_size)["loss"]
        assert (loss == pytest.approx(logged, rel=1e-6)) == equal


def test_checkpoint_averaging_writes_the_mean_of_the_last_n_checkpoints(ema_run, tmp_path, capsys):
    w, _ = ema_run
    out = tmp_path / "averaged"
    before = sorted((p.relative_to(w), p.stat().st_mtime_ns) for p in (w / "checkpoints").rglob("*"))
    assert main(["average", "--workdir", str(w), "--last", "3", "--out", str(out)]) == 0
    assert "steps 2, 3, 4" in capsys.readouterr().out
    template = open_run(w).state
    ckpt = Checkpointer(w / "checkpoints", async_save=False, read_only=True)
    states = [jax.device_get(ckpt.restore(template, step=s)[0]) for s in (2, 3, 4)]
    ckpt.close()
    averaged = open_run(out)
    assert averaged.step == 4
    mean = jax.tree.map(lambda *xs: np.mean(np.stack(xs), axis=0), *[s.params for s in states])
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), jax.device_get(averaged.state.params), mean)
    # refused: too few checkpoints, or the run's own workdir as the output
    assert main(["average", "--workdir", str(w), "--last", "50", "--out", str(tmp_path / "x")]) == 2
    assert main(["average", "--workdir", str(w), "--last", "2", "--out", str(w)]) == 2
    assert sorted((p.relative_to(w), p.stat().st_mtime_ns) for p in (w / "checkpoints").rglob("*")) == before
