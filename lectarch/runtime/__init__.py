"""The process-wide settings lectarch runs with, applied by one call that every entry point makes.

    import lectarch.runtime
    lectarch.runtime.configure()   # first thing: before the first JAX computation

``lectarch``'s command line calls it first thing, the notebooks in their first cell, the bench
before it builds anything; so a config behaves the same from all three. What it sets:

- on the CPU backend only (a GPU or TPU host is left alone):
  - glibc keeps freed memory for the next step (``lectarch.train.host_allocator``; opt out with
    ``LECTARCH_MALLOC=default``);
  - XLA's convolutions leave YNNPACK, and XLA keeps remat's barriers so ``model.remat`` lowers the
    peak memory (``lectarch.train.xla_cpu``; opt out with ``LECTARCH_XLA_FLAGS=default``, and a flag
    of your own in ``XLA_FLAGS`` wins);
- on every backend: JAX's persistent compilation cache (``lectarch.runtime.compilation_cache``;
  ``LECTARCH_COMPILATION_CACHE=DIR`` moves it, ``=off`` turns it off).

XLA reads ``XLA_FLAGS`` once, when JAX starts its first backend, so the backend is predicted before
one starts (``will_run_on``): the first entry of ``JAX_PLATFORMS`` when set; else a GPU when an
accelerator plugin is installed and an NVIDIA driver is visible, a TPU when ``libtpu`` is installed
on a TPU VM; else the CPU. Once a backend has started, ``jax.default_backend()`` decides.
"""

import dataclasses
import os
import sys

from lectarch.runtime import compilation_cache, hardware

_PLATFORM = {"cpu": "cpu", "cuda": "gpu", "rocm": "gpu", "gpu": "gpu", "tpu": "tpu"}


@dataclasses.dataclass(frozen=True)
class Settings:
    """What ``configure`` did: the backend it planned for and each setting as applied."""

    backend: str  # "cpu" | "gpu" | "tpu": predicted before JAX started, or JAX's own once started
    malloc: dict  # mallopt parameters set ({} : none)
    xla_flags: str  # XLA_FLAGS as JAX will read them
    compilation_cache: str | None  # the cache directory (None: off)


def _backend_started() -> bool:
    if "jax" not in sys.modules:
        return False
    from jax._src import xla_bridge

    return xla_bridge.backends_are_initialized()


def will_run_on(env: dict | None = None, root: str = "/", installed: list[str] | None = None) -> str:
    """``"cpu"``, ``"gpu"`` or ``"tpu"``: the backend JAX will pick, decided without starting it."""
    env = os.environ if env is None else env
    if env is os.environ and _backend_started():
        import jax

        return _PLATFORM.get(jax.default_backend(), jax.default_backend())
    platforms = [p.strip().lower() for p in env.get("JAX_PLATFORMS", "").split(",") if p.strip()]
    if platforms:
        return _PLATFORM.get(platforms[0], platforms[0])
    installed = hardware.installed_builds() if installed is None else installed
    if "cuda12" in installed and hardware.nvidia_gpu_visible(env, root):
        return "gpu"
    if "tpu" in installed and hardware.tpu_vm(env, root):
        return "tpu"
    return "cpu"


_settings: list[Settings] = []


def configure(*, compilation_cache_setting: str = compilation_cache.AUTO) -> Settings:
    """Apply lectarch's process-wide settings once (later calls return the first call's settings,
    with the compilation cache moved if ``compilation_cache_setting`` names another directory)."""
    if _settings:
        cache = compilation_cache.use(compilation_cache_setting)
        _settings[0] = dataclasses.replace(_settings[0], compilation_cache=cache)
        return _settings[0]
    backend = will_run_on()
    malloc, flags = {}, os.environ.get("XLA_FLAGS", "")
    if backend == "cpu":
        from lectarch.train import xla_cpu
        from lectarch.train.host_allocator import keep_freed_memory

        malloc = keep_freed_memory()  # before the first large allocation: per-step buffers stop page-faulting
        flags = xla_cpu.apply()  # before JAX starts its CPU backend: XLA reads XLA_FLAGS once
    settings = Settings(backend, malloc, flags, compilation_cache.use(compilation_cache_setting))
    _settings.append(settings)
    return settings


def applied() -> Settings | None:
    """What ``configure`` applied in this process (``None``: it was not called)."""
    return _settings[0] if _settings else None


__all__ = ["Settings", "applied", "configure", "will_run_on"]
