"""launch/detect_accel.sh picks the JAX build make installs; it agrees with lectarch.runtime.hardware
(an independent Python version of the same rules) on every simulated machine, and make follows it."""

import os
import subprocess

import pytest

from lectarch.runtime import hardware
from tests.helpers import REPO

SCRIPT = os.path.join(REPO, "launch", "detect_accel.sh")


def _machine(tmp_path, name, *, smi=False, files=(), dirs=()):
    """A fake machine: a PATH folder (with nvidia-smi or not) and a file system root."""
    bin_dir, root = tmp_path / name / "bin", tmp_path / name / "root"
    bin_dir.mkdir(parents=True)
    root.mkdir()
    if smi:
        (bin_dir / "nvidia-smi").write_text("#!/bin/sh\n")
        (bin_dir / "nvidia-smi").chmod(0o755)
    for d in dirs:
        (root / d).mkdir(parents=True)
    for f in files:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).touch()
    return str(bin_dir), str(root)


MACHINES = {  # name: (machine, extra environment, the build)
    "laptop": ({}, {}, "cpu"),
    "gpu_with_nvidia_smi": ({"smi": True}, {}, "cuda12"),
    "gpu_driver_only": ({"files": ["proc/driver/nvidia/version"]}, {}, "cuda12"),
    "tpu_vm_accel": ({"files": ["dev/accel0", "dev/accel1"]}, {}, "tpu"),
    "tpu_vm_vfio": ({"dirs": ["dev/vfio"]}, {"TPU_ACCELERATOR_TYPE": "v6e-8"}, "tpu"),
    "other_vm_vfio": ({"dirs": ["dev/vfio"]}, {}, "cpu"),
}


def _env(bin_dir, root, extra):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TPU_", "CLOUD_TPU"))}
    return {**base, "PATH": f"{bin_dir}:/usr/bin:/bin", "DETECT_ROOT": root, **extra}


@pytest.mark.parametrize("name", MACHINES)
def test_detection_on_simulated_machines(tmp_path, name):
    machine, extra, want = MACHINES[name]
    bin_dir, root = _machine(tmp_path, name, **machine)
    env = _env(bin_dir, root, extra)
    out = subprocess.run(["bash", SCRIPT], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout == want + "\n", out.stderr
    assert hardware.detected_accel(env, root) == want


def _make_n(target, env, *args):
    out = subprocess.run(["make", "-n", "-B", target, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("target", ["install", "run", "test"])
def test_make_installs_the_detected_build_and_says_which(tmp_path, target):
    from tests.docs.guides import documented

    documented("docs/training.md", "make install ACCEL=cpu")
    bin_dir, root = _machine(tmp_path, "gpu", smi=True)
    plan = _make_n(target, _env(bin_dir, root, {}))  # detected: an NVIDIA GPU
    assert "installing the NVIDIA GPU build of JAX (CUDA 12): ACCEL=cuda12" in plan
    assert "-e '.[test,notebooks,postgres,dashboard,cuda12]'" in plan and ".installed-cuda12-" in plan
    cpu = _make_n(target, _env(bin_dir, root, {}), "ACCEL=cpu")  # given: wins over detection
    assert "installing the CPU-only build of JAX: ACCEL=cpu" in cpu
    assert "-e '.[test,notebooks,postgres,dashboard]'" in cpu and ".installed-cpu-" in cpu
    tpu = _make_n(target, _env(*_machine(tmp_path, "tpu", files=["dev/accel0"]), {}))
    assert "-e '.[test,notebooks,postgres,dashboard,tpu]'" in tpu and ".installed-tpu-" in tpu


def test_make_refuses_an_unknown_build():
    out = subprocess.run(["make", "-n", "install", "ACCEL=rocm"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "ACCEL=rocm is not one of: cpu cuda12 tpu" in out.stderr
