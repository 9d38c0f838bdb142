"""The worked plug-in (experiments/plugins) copied outside the repository: train, then visualize,
inspect and a 2-trial sweep from the workdir alone, all through the ``lectarch`` console script."""

import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys

from tests.helpers import REPO, cli_env

PLUGINS = pathlib.Path(REPO) / "experiments" / "plugins"
FAST = ["--config.log_every=2", "--config.eval_every=4", "--config.checkpoint_every=4", "--config.progress=false",
        "--config.eval_batch_size=64", "--config.data.num_eval=64"]


def _lectarch(cwd: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    script = shutil.which("lectarch", path=str(pathlib.Path(sys.executable).parent)) or "lectarch"
    # The package from this checkout; the plug-ins only through the config's folder. Compiled programs
    # are shared between the commands through JAX's persistent cache (the trials repeat the run's).
    env = dict(cli_env(1), PYTHONPATH=REPO, JAX_COMPILATION_CACHE_DIR=str(cwd.parent / "jax_cache"),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0", JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
    out = subprocess.run([script, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"lectarch {' '.join(args)} -> {out.returncode}\n{out.stderr[-3000:]}"
    assert "Traceback" not in out.stderr
    return out


def test_plugin_trains_and_every_command_works_from_the_workdir(tmp_path):
    folder = tmp_path / "my_project"
    shutil.copytree(PLUGINS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    assert not str(folder).startswith(REPO)
    # no pictures at train's eval: the one checked below must be visualize's own
    _lectarch(folder, "train", "--config", "gru_config.py", "--workdir", "run", "--config.num_steps=4",
              "--config.pictures=false", *FAST)
    run = folder / "run"
    saved = json.loads((run / "config.json").read_text())
    assert saved["model"]["name"] == "gru_model" and saved["data"]["name"] == "parity_data"
    assert saved["import_path"] == str(folder)

    elsewhere = tmp_path / "elsewhere"  # not the plug-ins' folder: only config.json's import_path finds them
    elsewhere.mkdir()
    out = _lectarch(elsewhere, "visualize", "--workdir", str(run))
    assert "gru_model at step 4" in out.stdout and (run / "pictures" / "hidden_states_step4.png").is_file()
    out = _lectarch(elsewhere, "inspect", "--workdir", str(run), "--what", "forward", "--no-compile")
    assert "=== forward" in out.stdout and "dot_general" in out.stdout

    out = _lectarch(elsewhere, "sweep", "--config", str(run / "config.json"), "--space", str(folder / "gru_space.py"),
                    "--workdir", "sweep", "--seed", "0", "--trials", "2", "--config.num_steps=2", "--config.pictures=true", *FAST)
    rows = list(csv.DictReader((elsewhere / "sweep" / "trials.csv").open()))
    assert [r["state"] for r in rows] == ["COMPLETE"] * 2
    for trial in sorted((elsewhere / "sweep" / "trials").iterdir()):
        cfg = json.loads((trial / "config.json").read_text())
        assert cfg["model"]["name"] == "gru_model" and cfg["num_steps"] == 2
        assert (trial / "pictures" / "hidden_states_step2.png").is_file()  # drawn at the trial's eval
    assert os.listdir(folder) and not (folder / "sweep").exists()
