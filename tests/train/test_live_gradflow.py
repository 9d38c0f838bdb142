"""Gradient flow watched during training (config.log_grad_flow_every): the logged numbers are the
gradient-flow probes' at the state and batch of that step, and the train steps are unchanged."""

import jax
import numpy as np
import pytest

from lectarch.experiment import build_run, train
from lectarch.inspect import timeflow
from lectarch.inspect.gradflow import layer_norms
from lectarch.inspect.programs import grad
from lectarch.train.metrics import read_metrics
from lectarch.train.step import step_key
from tests.helpers import LEAN, config

LSTM = ("adding_lstm", "data.T=12", "data.num_train=64", "data.num_eval=16", "model.hidden=8", "batch_size=16",
        "eval_batch_size=16", "progress=false", "pictures=false", "num_steps=1", "log_every=1", "eval_every=1",
        "checkpoint_every=1")


def test_the_logged_flow_at_step_1_equals_the_probes_at_initialisation(tmp_path):
    cfg = config(*LSTM, "log_grad_flow_every=1")
    train(cfg, tmp_path)
    row = read_metrics(tmp_path, "grad_flow")[0]
    assert row["step"] == 1
    run = build_run(cfg, num_devices=1)  # the same seed: the initial state, and the first batch
    s = run.state
    grads = jax.jit(grad(run))(s.params, s.rest, run.batch, step_key(s))
    expected = layer_norms(grads, s.params)
    for r in expected:
        assert row[f"grad_flow/{r.layer}/grad_norm"] == pytest.approx(r.grad_norm, rel=1e-5)
        assert row[f"grad_flow/{r.layer}/ratio"] == pytest.approx(r.ratio, rel=1e-5)
    times = timeflow.time_probe(run)
    assert set(times) and all(row[f"time/{k}/t1"] == pytest.approx(float(v[0]), rel=1e-5) for k, v in times.items())
    assert all(row[f"time/{k}/tT"] == pytest.approx(float(v[-1]), rel=1e-5) for k, v in times.items())
    events = b"".join(p.read_bytes() for p in (tmp_path / "tensorboard").glob("events.*"))
    assert b"grad_flow/time/0.h" in events  # the curve over t as a TensorBoard histogram


def test_the_train_steps_do_not_depend_on_the_flow_key():
    """The flow has a program of its own: the lean and logging steps are the same programs with it on."""
    runs = [build_run(config(*LSTM, f"log_grad_flow_every={k}"), num_devices=1) for k in (0, 5)]
    for kind in ("lean", "logging"):
        a, b = (str(jax.make_jaxpr(r.train_step(kind))(r.state, r.batch)) for r in runs)
        assert a == b


def test_a_vanishing_gradient_across_the_network_is_warned_once(tmp_path, capsys):
    cfg = config("deep_mlp", "progress=false", "num_steps=2", "log_every=1", "eval_every=2", "checkpoint_every=2",
                 "log_grad_flow_every=1", "batch_size=16", "eval_batch_size=120", "model.activation=sigmoid",
                 "model.depth=30", *LEAN)
    train(cfg, tmp_path)
    err = capsys.readouterr().err
    rows = read_metrics(tmp_path, "grad_flow")
    norms = [v for k, v in rows[0].items() if k.endswith("/grad_norm")]
    assert [r["step"] for r in rows] == [1, 2] and np.isfinite(norms).all()
    assert norms[0] * 1e6 < norms[-1]  # 30 sigmoid layers: each multiplies the backward signal by <= 1/4
    assert err.count("vanishing gradient") == 1  # once, though both logged steps show it
