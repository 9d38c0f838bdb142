import json
import math

from lectarch.experiment import train
from lectarch.train.loop import summary
from lectarch.train.metrics import read_metrics
from tests.helpers import LEAN, config


def test_default_experiment_learns_and_writes_its_outputs(tmp_path):
    # the README's `make run` as it runs on a machine with one device (a CPU), without pictures
    cfg = config("mlp_digits", "progress=false", *LEAN)
    result = train(cfg, tmp_path)
    assert result.status == "finished" and result.step == cfg.num_steps
    assert result.last_eval["accuracy"] >= 0.95, result.last_eval

    rows = read_metrics(tmp_path)
    train_rows = [r for r in rows if r["split"] == "train"]
    assert [r["step"] for r in train_rows] == list(range(cfg.log_every, cfg.num_steps + 1, cfg.log_every))
    for key in ("step", "split", "loss", "accuracy", "learning_rate", "grad_norm", "steps_per_sec"):
        assert key in train_rows[0], key
    assert all(math.isfinite(r["loss"]) and r["steps_per_sec"] > 0 for r in train_rows)
    assert train_rows[-1]["loss"] < 0.2 * train_rows[0]["loss"]
    evals = [r for r in rows if r["split"] == "eval"]
    assert [r["step"] for r in evals] == list(range(cfg.eval_every, cfg.num_steps + 1, cfg.eval_every))
    assert evals[-1]["accuracy"] == result.last_eval["accuracy"]

    assert json.loads((tmp_path / "config.json").read_text())["model"]["width"] == cfg.model.width
    assert any((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    text = summary(result)
    assert "best eval" in text and str(tmp_path / "metrics.jsonl") in text and "tensorboard --logdir" in text


def test_log_grad_norms_adds_one_norm_per_layer(tmp_path):
    cfg = config("mlp_digits", "progress=false", "num_steps=4", "log_every=2", "eval_every=4", "checkpoint_every=4",
                 "log_grad_norms=true", "model.depth=2")
    train(cfg, tmp_path)
    row = read_metrics(tmp_path, "train")[-1]
    groups = sorted(k for k in row if k.startswith("grad_norm/"))
    assert groups == ["grad_norm/hidden.0", "grad_norm/hidden.1", "grad_norm/out"]
    total = math.sqrt(sum(row[g] ** 2 for g in groups))
    assert math.isclose(total, row["grad_norm"], rel_tol=1e-4)
