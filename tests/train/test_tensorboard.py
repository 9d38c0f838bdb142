"""The summary's ``tensorboard --logdir PARENT`` works as printed: the venv's TensorBoard serves the
run's train and eval losses, read back here through its HTTP API, as a run named after its workdir
beside the other runs of the folder."""

import json
import shlex
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from lectarch.experiment import train
from lectarch.train.loop import summary
from lectarch.train.metrics import read_metrics
from tests.helpers import config
from tests.servers import free_port, stop


def get_json(url: str, timeout_s: float = 60.0, ready=lambda body: True):
    """GET ``url`` until it answers JSON for which ``ready`` holds, for at most ``timeout_s``."""
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = json.loads(r.read())
            if ready(body):
                return body
            last = body
        except OSError as e:  # not listening yet
            last = e
        time.sleep(0.5)
    raise TimeoutError(f"{url}: no ready answer in {timeout_s}s (last: {last!r})")


def test_tensorboard_serves_the_logged_train_and_eval_losses(tmp_path):
    cfg = config("mlp_digits", "progress=false", "num_steps=6", "log_every=2", "eval_every=3",
                 "checkpoint_every=6", "model.width=8", "num_devices=1")
    runs = tmp_path / "runs"
    workdir = runs / "mlp"
    result = train(cfg, workdir)
    train(config("mlp_digits", "progress=false", "num_steps=2", "log_every=2", "eval_every=2",
                 "checkpoint_every=2", "model.width=8", "num_devices=1"), runs / "other")
    (line,) = [ln for ln in summary(result).splitlines() if "--logdir" in ln]
    printed = shlex.split(line)[1:]  # the command as printed: "  tensorboard PROGRAM --logdir DIR"
    assert printed[1:] == ["--logdir", str(runs)]
    assert shutil.which(printed[0]), f"{printed[0]} is not installed"

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*printed, "--host", "127.0.0.1", "--port", str(port), "--reload_interval", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        tags = get_json(f"{base}/data/plugin/scalars/tags", timeout_s=120,
                        ready=lambda b: any("eval/loss" in t for t in b.values()))
        assert sorted(r for r, t in tags.items() if "train/loss" in t) == ["mlp/tensorboard", "other/tensorboard"]
        run = "mlp/tensorboard"

        def served(tag):
            query = urllib.parse.urlencode({"run": run, "tag": tag})
            return {step: value for _, step, value in get_json(f"{base}/data/plugin/scalars/scalars?{query}")}

        for split in ("train", "eval"):
            logged = {r["step"]: r["loss"] for r in read_metrics(workdir, split)}
            assert sorted(logged) == ([2, 4, 6] if split == "train" else [3, 6])
            got = served(f"{split}/loss")
            assert got.keys() == logged.keys()
            for step, loss in logged.items():
                assert got[step] == pytest.approx(loss, rel=1e-6)
    finally:
        stop(server)
