"""lectarch.runtime.configure: the CPU settings only where the backend will be the CPU, the same
from Python and from the command line, each with its opt-out.

Each case runs in a fresh interpreter: the settings last for the whole process, and XLA reads
XLA_FLAGS once."""

import json
import os
import subprocess
import sys

from lectarch import runtime
from lectarch.runtime import hardware
from tests.helpers import REPO

PYTHON = """
import json, os
from lectarch import runtime
from lectarch.train import host_allocator
s = runtime.configure()
print(json.dumps({"backend": s.backend, "malloc": s.malloc, "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
                  "mallopt_called": host_allocator.applied() is not None, "cache": s.compilation_cache}))
"""
CLI = """
import json, os
from lectarch.cli import main
from lectarch.train import host_allocator
from lectarch import runtime
try:
    main(["train", "--no-such-flag"])  # the command line configures the process, then stops at the flag
except SystemExit:
    pass
s = runtime.applied()  # what the command line applied
print(json.dumps({"backend": s.backend, "malloc": s.malloc, "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
                  "mallopt_called": host_allocator.applied() is not None, "cache": s.compilation_cache}))
"""
CONV = "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution"


def _settings(code: str, tmp_path, **env) -> dict:
    e = {k: v for k, v in os.environ.items()
         if k not in ("XLA_FLAGS", "LECTARCH_XLA_FLAGS", "LECTARCH_MALLOC", "JAX_PLATFORMS")}
    e.update({"PYTHONPATH": REPO, "LECTARCH_COMPILATION_CACHE": str(tmp_path / "cache"), **env})
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=e, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cpu_backend_gets_both_settings_the_same_from_python_and_the_command_line(tmp_path):
    python = _settings(PYTHON, tmp_path, JAX_PLATFORMS="cpu")
    cli = _settings(CLI, tmp_path, JAX_PLATFORMS="cpu")
    assert python == cli
    assert python["backend"] == "cpu" and CONV in python["XLA_FLAGS"]
    assert python["cache"] == str(tmp_path / "cache")
    assert sorted(python["malloc"]) == ["M_ARENA_MAX", "M_MMAP_MAX", "M_TRIM_THRESHOLD"]


def test_gpu_or_tpu_backend_touches_neither_setting(tmp_path):
    for platforms, backend in (("cuda", "gpu"), ("tpu", "tpu"), ("cuda,cpu", "gpu")):
        for code in (PYTHON, CLI):
            s = _settings(code, tmp_path, JAX_PLATFORMS=platforms, XLA_FLAGS="--xla_dump_to=/nowhere")
            assert s == {"backend": backend, "malloc": {}, "XLA_FLAGS": "--xla_dump_to=/nowhere",
                         "mallopt_called": False, "cache": str(tmp_path / "cache")}, (platforms, code)


def test_each_setting_keeps_its_opt_out(tmp_path):
    s = _settings(PYTHON, tmp_path, JAX_PLATFORMS="cpu", LECTARCH_MALLOC="default", LECTARCH_XLA_FLAGS="default",
                  LECTARCH_COMPILATION_CACHE="off")
    assert s["malloc"] == {} and s["XLA_FLAGS"] == "" and s["cache"] is None


def _machine(tmp_path, nvidia=False, accel=False, vfio=False):
    root = tmp_path / "root"
    if nvidia:
        (root / "proc/driver/nvidia").mkdir(parents=True)
        (root / "proc/driver/nvidia/version").write_text("NVRM version: 550\n")
    if accel:
        (root / "dev").mkdir(parents=True, exist_ok=True)
        (root / "dev/accel0").touch()
    if vfio:
        (root / "dev/vfio").mkdir(parents=True)
    root.mkdir(parents=True, exist_ok=True)
    return str(root)


def test_the_backend_is_predicted_from_the_machine_and_the_installed_build(tmp_path):
    empty = {"PATH": str(tmp_path / "bin")}
    gpu_box = _machine(tmp_path / "gpu", nvidia=True)
    assert runtime.will_run_on(empty, gpu_box, installed=["cuda12"]) == "gpu"
    assert runtime.will_run_on(empty, gpu_box, installed=[]) == "cpu"  # the CPU-only build on a GPU machine
    assert runtime.will_run_on({**empty, "JAX_PLATFORMS": "cpu"}, gpu_box, installed=["cuda12"]) == "cpu"
    tpu_box = _machine(tmp_path / "tpu", accel=True)
    assert runtime.will_run_on(empty, tpu_box, installed=["tpu"]) == "tpu"
    assert runtime.will_run_on(empty, tpu_box, installed=["cuda12"]) == "cpu"
    assert runtime.will_run_on(empty, _machine(tmp_path / "bare"), installed=["cuda12", "tpu"]) == "cpu"


def test_hardware_detection_from_driver_files_paths_and_tpu_variables(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    bare = _machine(tmp_path / "bare")
    assert hardware.detected_accel({"PATH": str(bin_dir)}, bare) == "cpu"
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\n")
    smi.chmod(0o755)
    assert hardware.detected_accel({"PATH": str(bin_dir)}, bare) == "cuda12"
    assert hardware.detected_accel({}, _machine(tmp_path / "drv", nvidia=True)) == "cuda12"
    vfio = _machine(tmp_path / "vfio", vfio=True)
    assert hardware.detected_accel({}, vfio) == "cpu"  # /dev/vfio alone is any VM's
    assert hardware.detected_accel({"TPU_ACCELERATOR_TYPE": "v5litepod-8"}, vfio) == "tpu"
    accel = _machine(tmp_path / "accel", accel=True)
    assert hardware.detected_accel({}, accel) == "tpu" and hardware.tpu_chips(accel) == 1


def test_every_notebook_configures_the_process_before_jax_starts():
    import pathlib

    for path in sorted(pathlib.Path(REPO, "notebooks").glob("*.ipynb")):
        cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        lines = "".join(cells[0]["source"]).splitlines()
        configure = lines.index("lectarch.runtime.configure()  # the process settings the command line applies, "
                                "before JAX starts")
        first_jax = min(i for i, line in enumerate(lines)
                        if line.startswith(("import jax", "from jax", "from lectarch.", "import lectarch."))
                        and "lectarch.runtime" not in line)
        assert configure < first_jax, path.name
