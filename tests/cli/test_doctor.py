"""lectarch doctor: on simulated machines (SLURM's and TPU VMs' variables, a GPU, a file system
without locks) it names each disagreement and exits 1; on this machine everything agrees."""

import dataclasses
import os
import subprocess
import sys

from lectarch.runtime import doctor
from lectarch.train import workdir as workdir_module
from tests.helpers import REPO, cli_env

SLURM_TASK = {"SLURM_JOB_ID": "7", "SLURM_STEP_NODELIST": "gpu[1-2]", "SLURM_NTASKS": "2", "SLURM_PROCID": "0",
              "SLURM_LOCALID": "0", "SLURM_NTASKS_PER_NODE": "1", "SLURM_STEP_GPUS": "0,1,2,3,4,5,6,7",
              "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7"}


def _facts(**changes) -> doctor.Facts:
    """A CPU laptop where everything agrees, with ``changes``."""
    laptop = doctor.Facts(
        versions={"jax": "0.10.2", "jaxlib": "0.10.2", "jax-cuda12-plugin": None, "jax-cuda12-pjrt": None,
                  "libtpu": None}, backend="cpu", local_devices=2, all_devices=2, processes=1,
        nvidia_visible=False, tpu_vm=False, tpu_chips=0, jax_platforms="", slurm=None, workdir="/w", lock_ok=True,
        rename_ok=True, workdir_error="", free_bytes=50 << 30, cache_dir="/c", cache_entries=0, cache_bytes=0,
        malloc={}, xla_flags="")
    return dataclasses.replace(laptop, **changes)


GPU_NODE = dict(versions={"jax": "0.10.2", "jaxlib": "0.10.2", "jax-cuda12-plugin": "0.10.2",
                          "jax-cuda12-pjrt": "0.10.2", "libtpu": None}, backend="gpu", nvidia_visible=True)


def test_slurm_one_task_per_node_agrees_when_it_drives_all_eight_gpus():
    f = _facts(**GPU_NODE, local_devices=8, all_devices=16, processes=2, slurm=doctor.slurm_allocation(SLURM_TASK))
    assert f.slurm["used_ids"] == list(range(8))
    assert doctor.problems(f) == []


def test_slurm_one_task_per_node_restricted_to_gpu_0_is_a_problem():
    """The case JAX's own SLURM detection produces (local_device_ids=[SLURM_LOCALID])."""
    slurm = doctor.slurm_allocation({**SLURM_TASK, "JAX_LOCAL_DEVICE_IDS": "0"})
    (problem,) = doctor.problems(_facts(**GPU_NODE, local_devices=1, all_devices=2, processes=2, slurm=slurm))
    assert problem.startswith("SLURM: 1 task(s) per node with 8 GPUs: the task should drive 8 GPU(s)")
    assert "local_device_ids=[0] gives it 1" in problem


def test_jax_seeing_fewer_gpus_than_slurm_gave_is_a_problem():
    f = _facts(**GPU_NODE, local_devices=4, slurm=doctor.slurm_allocation(SLURM_TASK))
    assert doctor.problems(f) == ["SLURM gave the task 8 GPU(s) but JAX sees 4"]
    uneven = doctor.slurm_allocation({**SLURM_TASK, "SLURM_NTASKS_PER_NODE": "3"})
    assert doctor.problems(_facts(**GPU_NODE, slurm=uneven)) == [
        "SLURM: 8 GPUs per node cannot be split evenly between 3 tasks per node; ask for one task per node or one "
        "task per GPU"]


def test_a_gpu_or_tpu_left_unused_names_the_install_command():
    assert doctor.problems(_facts(nvidia_visible=True)) == [
        "an NVIDIA GPU is visible but JAX runs on the CPU: install the GPU build: make install ACCEL=cuda12"]
    assert doctor.problems(_facts(nvidia_visible=True, jax_platforms="cpu")) == []  # asked for on purpose
    assert doctor.problems(_facts(tpu_vm=True)) == [
        "this is a TPU VM but JAX runs on the cpu: install the TPU build: make install ACCEL=tpu"]
    tpu = dict(backend="tpu", tpu_vm=True, tpu_chips=4)
    assert doctor.problems(_facts(**tpu, local_devices=4)) == []
    assert doctor.problems(_facts(**tpu, local_devices=1)) == [
        "this TPU VM has 4 chip(s) but JAX sees 1 device(s) here (another process holding the TPU?)"]
    mixed = dict(GPU_NODE["versions"], **{"jax-cuda12-plugin": "0.9.2"})
    assert doctor.problems(_facts(**dict(GPU_NODE, versions=mixed))) == [
        "jax-cuda12-plugin 0.9.2 does not match jaxlib 0.10.2: make install ACCEL=cuda12"]


def test_workdir_file_system_checks(tmp_path, monkeypatch):
    assert doctor.check_workdir(str(tmp_path)) == (True, True, "")
    assert os.listdir(tmp_path) == []  # the probe leaves nothing behind
    monkeypatch.setattr(workdir_module.fcntl, "flock", lambda fd, op: None)  # a file system without locks
    lock_ok, rename_ok, _ = doctor.check_workdir(str(tmp_path))
    assert (lock_ok, rename_ok) == (False, True)
    (problem,) = doctor.problems(_facts(lock_ok=False))
    assert "does not enforce the run lock" in problem
    assert doctor.problems(_facts(free_bytes=10 << 20)) == ["workdir /w: only 10 MiB free"]


def _doctor(tmp_path, **env):
    e = {**cli_env(devices=2), "LECTARCH_COMPILATION_CACHE": str(tmp_path / "cache"), **env}
    e = {k: v for k, v in e.items() if not k.startswith(("SLURM_", "TPU_")) or k in env}
    return subprocess.run([sys.executable, "-m", "lectarch", "doctor", "--workdir", str(tmp_path / "w")], cwd=REPO,
                          env=e, capture_output=True, text=True, timeout=120)


def test_the_command_on_this_machine_and_on_a_simulated_slurm_task(tmp_path):
    ok = _doctor(tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "devices:           2 on this process, 2 in all (1 process)" in ok.stdout
    assert f"compilation cache: {tmp_path / 'cache'} (" in ok.stdout
    assert "run lock works, atomic rename works" in ok.stdout and "ok: everything agrees" in ok.stdout
    bad = _doctor(tmp_path, **SLURM_TASK, JAX_LOCAL_DEVICE_IDS="0")
    assert bad.returncode == 1
    assert "problem: SLURM: 1 task(s) per node with 8 GPUs: the task should drive 8 GPU(s)" in bad.stderr


def test_the_training_guides_doctor_command(tmp_path):
    from tests.docs.guides import run_documented

    assert run_documented("docs/training.md", "lectarch doctor --workdir runs/mlp_digits", tmp_path) == 0
