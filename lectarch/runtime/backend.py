"""What JAX runs on, said at start: the backend and device count, and a warning when an NVIDIA GPU
is visible but JAX computes on the CPU (the CPU-only build is installed, or JAX could not start the
GPU one)."""

import os

from lectarch.runtime import hardware


def backend_line() -> str:
    """``backend: gpu (8 devices: 8 on this process)``."""
    import jax

    local, total = jax.local_device_count(), jax.device_count()
    on_this = f", {local} on this process" if jax.process_count() > 1 else ""
    return f"backend: {jax.default_backend()} ({total} device{'s' * (total != 1)}{on_this})"


def gpu_unused_warning(backend: str, env: dict | None = None, root: str = "/",
                       installed: list[str] | None = None) -> str | None:
    """One line when an NVIDIA GPU is visible but ``backend`` is the CPU, naming the fix; ``None``
    otherwise, and when ``JAX_PLATFORMS`` asks for the CPU on purpose."""
    env = os.environ if env is None else env
    if backend != "cpu" or not hardware.nvidia_gpu_visible(env, root):
        return None
    if env.get("JAX_PLATFORMS", "").split(",")[0].strip().lower() == "cpu":
        return None
    installed = hardware.installed_builds() if installed is None else installed
    if "cuda12" in installed:
        return ("lectarch: warning: an NVIDIA GPU is visible but JAX runs on the CPU although the GPU build is "
                "installed (see JAX's message above; lectarch doctor checks the versions)")
    return (f"lectarch: warning: an NVIDIA GPU is visible but JAX runs on the CPU: the CPU-only build is "
            f"installed; install the GPU build with: {hardware.GPU_INSTALL}")


def announce(print_backend: bool = True) -> list[str]:
    """The lines ``lectarch train`` prints at start (to stderr); returns them."""
    import sys

    import jax

    lines = [backend_line()] if print_backend else []
    warning = gpu_unused_warning(jax.default_backend())
    lines += [warning] if warning else []
    for line in lines:
        print(line, file=sys.stderr)
    return lines


__all__ = ["announce", "backend_line", "gpu_unused_warning"]
