"""One step builder, one run, one loop: what the trainer runs is what inspection, sweeps and the
memory check see."""

import jax
import pytest

from lectarch.config.defaults import base_config
from lectarch.experiment import build_run, train
from lectarch.inspect.programs import function_and_args
from lectarch.sweep import vmapped
from lectarch.train import loop, memory
from lectarch.train.metrics import read_metrics
from lectarch.train.step import STEP_KINDS, StepOptions, step_options
from tests.helpers import config

TINY = ("model.width=8", "batch_size=16", "eval_batch_size=120", "progress=false", "pictures=false")


def test_step_options_have_one_default_and_the_logging_step_always_checks_parameters():
    cfg = base_config()
    assert step_options(cfg, "lean") == StepOptions(cfg.nonfinite_check, log_grad_norms=False, lean=True)
    cfg.log_grad_norms, cfg.nonfinite_check = True, "params"
    assert step_options(cfg, "lean").nonfinite_check == "params"
    cfg.nonfinite_check = "loss"
    assert step_options(cfg, "logging") == StepOptions("params", log_grad_norms=True, lean=False)
    del cfg["nonfinite_check"]  # an old config.json without the key gets the same default
    assert step_options(cfg, "lean").nonfinite_check == base_config().nonfinite_check
    with pytest.raises(ValueError, match="step kind"):
        step_options(cfg, "full")
    with pytest.raises(ValueError, match="nonfinite_check"):
        StepOptions("grads", False, True)


@pytest.mark.parametrize("kind", STEP_KINDS)
def test_the_inspected_train_step_is_the_trainers_step_of_that_kind(kind):
    run = build_run(config("mlp_digits", *TINY), num_devices=1)
    fn, args = function_and_args(run, "train_step", kind)
    inspected = str(jax.make_jaxpr(fn)(*args))
    assert inspected == str(jax.make_jaxpr(run.train_step(kind))(run.state, run.batch))
    other = "logging" if kind == "lean" else "lean"
    assert inspected != str(jax.make_jaxpr(run.train_step(other))(run.state, run.batch))
    assert ("grad_norm" in str(jax.eval_shape(fn, *args)[1])) == (kind == "logging")


def test_the_loop_runs_the_very_programs_the_memory_check_measured(tmp_path, monkeypatch):
    checked, ran = [], {}
    check, run_loop = memory.check_step_memory, loop.run_loop
    monkeypatch.setattr(memory, "check_step_memory",
                        lambda compiled, *a, **kw: checked.append(compiled) or check(compiled, *a, **kw))

    def spy(cfg, state, start, batches, steps, **kw):
        ran.update(steps)
        return run_loop(cfg, state, start, batches, steps, **kw)

    monkeypatch.setattr(loop, "run_loop", spy)
    cfg = config("mlp_digits", *TINY, "num_steps=3", "log_every=2", "eval_every=3", "checkpoint_every=3")
    assert train(cfg, tmp_path).status == "finished"
    assert set(ran) == set(STEP_KINDS)
    assert all(any(step is c for c in checked) for step in ran.values())  # the same objects, not recompiled
    assert len(checked) == 3  # lean and logging train steps, and the eval step: each compiled once


def test_vmapped_trials_log_at_the_trainers_boundaries(tmp_path):
    cfg = config("mlp_digits", *TINY, "num_steps=5", "log_every=2", "eval_every=3", "checkpoint_every=5")
    train(cfg, tmp_path / "run")
    vmapped.train_vmapped(cfg, [{"learning_rate": 1e-3}, {"learning_rate": 1e-2}], tmp_path / "sweep")
    rows = lambda d: [(r["step"], r["split"], sorted(r)) for r in read_metrics(d)]  # noqa: E731
    expected = rows(tmp_path / "run")
    assert [(s, split) for s, split, _ in expected] == [(2, "train"), (3, "eval"), (4, "train"), (5, "train"),
                                                       (5, "eval")]
    for k in range(2):
        got = rows(tmp_path / "sweep" / f"trial_{k:03d}")
        assert [(s, split) for s, split, _ in got] == [(s, split) for s, split, _ in expected]
        assert [keys for *_, keys in got] == [keys for *_, keys in expected]  # the same metrics in each row


def test_a_run_saved_before_a_shared_key_existed_resumes_with_its_default():
    """config.json of an older run lacks keys added since (accumulate_steps, ema, prng_impl, ...):
    they count as their defaults, and only a real change is refused."""
    import json

    from lectarch.train.run_config import history_changes

    now = json.loads(config("mlp_digits").to_json())
    saved = {k: v for k, v in now.items() if k not in ("accumulate_steps", "ema", "prng_impl")}
    assert history_changes(saved, now) == []
    changed = dict(now, accumulate_steps=2)
    assert history_changes(saved, changed) == ["accumulate_steps: 1 -> 2"]
