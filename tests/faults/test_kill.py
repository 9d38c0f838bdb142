"""20 ``kill -9`` at random moments, many during checkpoint saves: the resumed run's losses equal an
uninterrupted run's to the last digit."""

import json
import os
import pathlib
import random
import subprocess
import sys
import time

from lectarch.train import checksums
from lectarch.train.loop import train
from tests.faults.checkpoint_runs import losses, mlp
from tests.helpers import REPO, cli_env

STEPS = ("num_steps=100", "log_every=1", "eval_every=50", "checkpoint_every=3", "model.width=16", "progress=false",
         "pictures=false")
KILLS = 20


def _start(workdir: pathlib.Path, cache: pathlib.Path) -> subprocess.Popen:
    env = dict(cli_env(8), JAX_COMPILATION_CACHE_DIR=str(cache), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    return subprocess.Popen([sys.executable, "-m", "lectarch", "train", "--workdir", str(workdir), "--config",
                             "experiments/configs/mlp_digits.py", *(f"--config.{o}" for o in STEPS)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _logged_step(workdir: pathlib.Path) -> int:
    path = workdir / "metrics.jsonl"
    if not path.exists():
        return -1
    steps = [json.loads(x)["step"] for x in path.read_text().splitlines()[:-1] if x.strip()]
    return max(steps, default=-1)


def _save_was_cut(checkpoints: pathlib.Path) -> bool:
    """A save in flight when the process died: an unfinished temporary folder or a step without its manifest."""
    if not checkpoints.exists():
        return False
    return any(not p.name.isdigit() or not checksums.has_manifest(p) for p in checkpoints.iterdir())


def test_20_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path):
    reference = tmp_path / "reference"
    assert train(mlp(*STEPS), reference).status == "finished"
    workdir, cache = tmp_path / "run", tmp_path / "jax-cache"
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    kills, cut_saves = 0, 0
    while kills < KILLS:
        proc = _start(workdir, cache)
        target, t0 = 4 * kills + rng.randint(1, 4), time.time()  # spread over steps 1..80 of 100
        while _logged_step(workdir) < target and proc.poll() is None and time.time() - t0 < 120:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.03))
        assert proc.poll() is None, f"the run ended before kill {kills + 1} (seed {seed}): {proc.stderr.read()}"
        proc.kill()  # SIGKILL: no handler, no cleanup
        proc.wait()
        proc.stderr.close()
        kills += 1
        cut_saves += _save_was_cut(workdir / "checkpoints")
    final = _start(workdir, cache)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    assert losses(workdir) == losses(reference), f"seed {seed}"  # every logged loss, to the last digit
    assert cut_saves >= 1, f"no kill landed during a save (seed {seed})"
    assert os.listdir(workdir / "checkpoints") and not any("tmp" in p for p in os.listdir(workdir / "checkpoints"))
