"""What this machine has, read without starting JAX: an NVIDIA driver, a Cloud TPU VM, JAX's plugins.

The same rules as ``launch/detect_accel.sh`` (which ``make`` uses to pick the build to install):
an NVIDIA GPU is visible when ``nvidia-smi`` is on the PATH or ``/proc/driver/nvidia/version``
exists; a TPU VM has ``/dev/accel*`` devices, or ``/dev/vfio`` together with one of the TPU VM's
environment variables. Every function takes the environment and the root of the file system as
arguments, so tests can set up a machine by hand.
"""

import glob
import importlib.metadata
import os
import shutil

TPU_ENV = ("TPU_ACCELERATOR_TYPE", "TPU_WORKER_ID", "TPU_WORKER_HOSTNAMES", "TPU_SKIP_MDS_QUERY", "CLOUD_TPU_TASK_ID")
# The distributions that give JAX an accelerator backend, by the build that installs them (pyproject extras).
PLUGINS = {"cuda12": ("jax-cuda12-plugin", "jax-cuda12-pjrt"), "tpu": ("libtpu",)}
GPU_INSTALL = "make install ACCEL=cuda12"


def nvidia_gpu_visible(env: dict | None = None, root: str = "/") -> bool:
    """An NVIDIA driver is present: ``nvidia-smi`` on the PATH or ``/proc/driver/nvidia/version``."""
    env = os.environ if env is None else env
    return (shutil.which("nvidia-smi", path=env.get("PATH", "")) is not None
            or os.path.exists(os.path.join(root, "proc/driver/nvidia/version")))


def tpu_vm(env: dict | None = None, root: str = "/") -> bool:
    """A Cloud TPU VM: ``/dev/accel*`` devices, or ``/dev/vfio`` with a TPU VM environment variable."""
    env = os.environ if env is None else env
    if glob.glob(os.path.join(root, "dev/accel*")):
        return True
    return os.path.isdir(os.path.join(root, "dev/vfio")) and any(k in env for k in TPU_ENV)


def tpu_chips(root: str = "/") -> int:
    """TPU chips this VM has: its ``/dev/accel*`` devices, else its numbered ``/dev/vfio/*`` groups."""
    accel = glob.glob(os.path.join(root, "dev/accel*"))
    return len(accel) or len([p for p in glob.glob(os.path.join(root, "dev/vfio/*")) if os.path.basename(p).isdigit()])


def detected_accel(env: dict | None = None, root: str = "/") -> str:
    """``"cuda12"``, ``"tpu"`` or ``"cpu"``: the build ``make install`` picks on this machine."""
    if nvidia_gpu_visible(env, root):
        return "cuda12"
    if tpu_vm(env, root):
        return "tpu"
    return "cpu"


def package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def installed_builds() -> list[str]:
    """The accelerator builds whose plugin packages are installed (``[]``: the CPU-only build)."""
    return [build for build, packages in PLUGINS.items() if package_version(packages[0]) is not None]


__all__ = ["GPU_INSTALL", "PLUGINS", "TPU_ENV", "detected_accel", "installed_builds", "nvidia_gpu_visible",
           "package_version", "tpu_chips", "tpu_vm"]
