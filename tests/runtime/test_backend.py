"""What `lectarch train` says at start: the backend and its devices, and one warning line when an
NVIDIA GPU is visible but JAX computes on the CPU."""

from lectarch.runtime import backend


def _gpu_box(tmp_path) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    return {"PATH": str(bin_dir)}


def test_a_visible_gpu_left_unused_names_the_install_command(tmp_path):
    gpu = _gpu_box(tmp_path)
    root = str(tmp_path)  # no /proc/driver/nvidia here: nvidia-smi on the PATH is what shows the GPU
    assert backend.gpu_unused_warning("cpu", gpu, root, installed=[]) == (
        "lectarch: warning: an NVIDIA GPU is visible but JAX runs on the CPU: the CPU-only build is installed; "
        "install the GPU build with: make install ACCEL=cuda12")
    assert "although the GPU build is installed" in backend.gpu_unused_warning("cpu", gpu, root, installed=["cuda12"])
    assert backend.gpu_unused_warning("gpu", gpu, root, installed=["cuda12"]) is None
    assert backend.gpu_unused_warning("cpu", {**gpu, "JAX_PLATFORMS": "cpu"}, root, installed=[]) is None
    assert backend.gpu_unused_warning("cpu", {"PATH": str(tmp_path / "nothing")}, root, installed=[]) is None


def test_the_start_lines(capsys, monkeypatch):
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    assert backend.announce() == ["backend: cpu (8 devices)"]  # the test suite's 8 CPU devices
    assert capsys.readouterr().err == "backend: cpu (8 devices)\n"
    assert backend.announce(print_backend=False) == []
