"""``config.profile``: a jax.profiler trace of the chosen train steps, for XProf and Perfetto,
that names the train step's compiled program and changes no logged loss."""

import gzip
import json

from lectarch.experiment import train
from lectarch.train.metrics import read_metrics
from lectarch.train.profile import trace_files
from tests.helpers import config

TINY = ["progress=false", "num_steps=6", "log_every=1", "eval_every=6", "checkpoint_every=6", "model.width=8"]


def test_trace_of_the_chosen_steps_names_the_train_step_and_changes_no_loss(tmp_path):
    plain = train(config("mlp_digits", *TINY), tmp_path / "plain")
    traced = train(config("mlp_digits", *TINY, "profile.start=2", "profile.steps=2"), tmp_path / "traced")
    assert not (tmp_path / "plain" / "profile").exists()  # off by default

    files = trace_files(tmp_path / "traced" / "profile")
    (xplane,) = [p for p in files if p.name.endswith(".xplane.pb")]  # for TensorBoard's profile plugin
    (perfetto,) = [p for p in files if p.name == "perfetto_trace.json.gz"]
    assert b"jit_train_step" in xplane.read_bytes()
    events = json.loads(gzip.decompress(perfetto.read_bytes()))["traceEvents"]
    launches = [e for e in events if e.get("name") == "CommonPjRtLoadedExecutable::Execute (jit_train_step)"]
    assert len(launches) == 2  # the two chosen steps, not the other four

    losses = lambda run: [(r["step"], r["loss"]) for r in read_metrics(tmp_path / run, "train")]  # noqa: E731
    assert losses("traced") == losses("plain") and len(losses("plain")) == 6
    assert traced.last_eval == plain.last_eval
