"""``config.log_grad_norms``: one gradient norm per layer in metrics.jsonl and TensorBoard during training."""

import jax
import numpy as np

from lectarch.inspect.gradflow import layer_probe
from lectarch.experiment import build_run
from lectarch.train.run import restored

from lectarch.experiment import train
from lectarch.train.metrics import read_metrics
from tests.helpers import config


def test_training_logs_one_gradient_norm_per_layer_that_add_up_to_the_global_norm(tmp_path):
    cfg = config("deep_mlp", "model.depth=2", "num_steps=2", "log_every=1", "eval_every=2",
                 "checkpoint_every=2", "progress=false", "batch_size=16", "eval_batch_size=128")
    assert cfg.log_grad_norms
    train(cfg, tmp_path)
    rows = read_metrics(tmp_path, "train")
    assert [r["step"] for r in rows] == [1, 2]
    for r in rows:
        groups = {k for k in r if k.startswith("grad_norm/")}
        assert groups == {"grad_norm/hidden.0", "grad_norm/hidden.1", "grad_norm/out"}  # layers, not arrays
        assert all(r[k] > 0 for k in groups)
        np.testing.assert_allclose(np.sqrt(sum(r[k] ** 2 for k in groups)), r["grad_norm"], rtol=1e-5)
    events = b"".join(p.read_bytes() for p in (tmp_path / "tensorboard").glob("events.*"))
    assert b"train/grad_norm/hidden.0" in events and b"train/grad_norm/out" in events

    # the probes read the same run's checkpoint (lectarch gradflow --workdir)
    fresh = build_run(cfg, num_devices=1, batch_size=16)
    trained = restored(fresh, tmp_path)
    assert trained.step == 2
    moved = jax.tree.map(lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b)))),
                         fresh.state.params, trained.state.params)
    assert max(jax.tree.leaves(moved)) > 0
    assert [r.layer for r in layer_probe(trained)] == ["hidden.0", "hidden.1", "out"]
