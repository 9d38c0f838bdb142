"""Memory before compute: does the compiled train step fit the device?

XLA's memory analysis of the compiled step (arguments, outputs and temporaries, less the donated
buffers it reuses) is compared with what the device has free: a GPU's or TPU's memory limit less
what is in use, or on CPU the host's ``MemAvailable`` (``/proc/meminfo``) shared by every local
CPU device. A step that cannot fit is a one-line ``ConfigError`` naming the estimate, the memory
available and the config keys that drive it, before a single step runs (instead of a hang or the
kernel's out-of-memory killer).

Before anything is compiled or stacked, ``check_batch_sizes`` checks every batch-like value a
command takes (the train and eval batch, gradflow's ``--batch-size``, decode's beam rows, the
vmapped sweep's trials) the same way: at least one row, no more rows than the split it is drawn
from where the batch is not padded, and rows x bytes per row within ``HEADROOM`` of the memory
available (the batch is built on the host, then copied to the devices). A value of 10**9 is one
line naming the key, before a list of 10**9 examples is built.
"""

import dataclasses
import math
from collections.abc import Mapping

import jax
import numpy as np

from lectarch.config.errors import ConfigError

# Above this share of the available memory a step is refused: XLA's estimate leaves out the
# runtime's own buffers and the input pipeline.
HEADROOM = 0.9


@dataclasses.dataclass(frozen=True)
class MemoryEstimate:
    per_device_bytes: int
    devices: int  # devices that draw on the same memory (all local CPU devices share host RAM)

    @property
    def total_bytes(self) -> int:
        return self.per_device_bytes * self.devices


def step_bytes(compiled) -> int:
    """Bytes one device needs to run ``compiled`` (a ``jax.stages.Compiled``), from XLA's analysis."""
    m = compiled.memory_analysis()
    if m is None:
        return 0
    if isinstance(m, (list, tuple)):
        m = m[0]
    return int(m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes
               + m.generated_code_size_in_bytes - m.alias_size_in_bytes)


def host_available_bytes(meminfo: str = "/proc/meminfo") -> int | None:
    """``MemAvailable`` of the host in bytes (``None`` where the kernel does not say)."""
    try:
        with open(meminfo) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def device_available_bytes(device) -> int | None:
    """Free memory of an accelerator (``None`` if the runtime does not report it)."""
    try:
        stats = device.memory_stats()
    except Exception:  # noqa: BLE001 - not every backend reports memory
        return None
    if not stats or "bytes_limit" not in stats:
        return None
    return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))


def available_bytes(device) -> tuple[int | None, str]:
    """(free bytes, where) for ``device``: its own memory, or host RAM for a CPU device."""
    if device.platform == "cpu":
        return host_available_bytes(), "host RAM (MemAvailable)"
    return device_available_bytes(device), f"{device.platform.upper()} memory of {device}"


def _gib(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 2**shift:
            return f"{n / 2**shift:.2f} {unit}"
    return f"{n} bytes"


def tree_bytes(tree) -> int:
    """Bytes of a tree of arrays, scalars or ``ShapeDtypeStruct``s (one batch row: no batch axis)."""
    total = 0
    for leaf in jax.tree.leaves(tree):
        shape = getattr(leaf, "shape", np.shape(leaf))
        dtype = getattr(leaf, "dtype", None) or np.asarray(leaf).dtype
        total += math.prod(shape) * np.dtype(dtype).itemsize
    return total


def check_batch_sizes(sizes: Mapping[str, int], row, *, split: tuple[str, int] | None = None,
                      devices=None) -> None:
    """Refuse (``ConfigError``, naming the key) a batch-like value that cannot be built.

    ``sizes`` maps how the user named each value (``"config.eval_batch_size"``, ``"--beam"``) to its
    number of rows; ``row`` is one row (a tree of arrays or ``ShapeDtypeStruct``s) or its bytes.
    ``split=(name, length)``: the rows are drawn from a split of ``length`` examples without
    padding, so more rows than that is out of range. ``devices`` (default: the local devices):
    an accelerator's own memory is checked too, the batch split evenly over them.
    """
    row_bytes = row if isinstance(row, int) else tree_bytes(row)
    host, host_where = host_available_bytes(), "host RAM (MemAvailable)"
    devices = list(jax.local_devices() if devices is None else devices)
    for name, rows in sizes.items():
        if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
            raise ConfigError(f"{name}={rows!r} is out of range: a batch needs at least 1 row")
        if split is not None and rows > split[1]:
            raise ConfigError(f"{name}={rows} is out of range: {split[0]} has only {split[1]} examples")
        need = int(rows) * row_bytes
        on_cpu = not devices or devices[0].platform == "cpu"
        places = [(host, host_where, 2 * need if on_cpu else need)]  # CPU devices copy it into host RAM again
        if not on_cpu:
            free, where = available_bytes(devices[0])
            places.append((free, where, need // len(devices)))
        for available, where, bytes_needed in places:
            if available is not None and bytes_needed > HEADROOM * available:
                raise ConfigError(f"{name}={rows} is out of range: the batch alone needs about {_gib(bytes_needed)} "
                                  f"({row_bytes:,} bytes per row) but only {_gib(available)} of {where} is "
                                  f"available; reduce {name}")


def check_fits(estimate: MemoryEstimate, available: int | None, where: str, keys: dict,
               what: str = "the train step") -> None:
    """Raise ``ConfigError`` if ``estimate`` exceeds ``HEADROOM`` of ``available`` bytes."""
    if available is None or estimate.total_bytes <= HEADROOM * available:
        return
    shared = f" ({estimate.devices} devices x {_gib(estimate.per_device_bytes)})" if estimate.devices > 1 else ""
    drivers = ", ".join(f"config.{k}={v!r}" for k, v in keys.items())
    raise ConfigError(f"{what} needs about {_gib(estimate.total_bytes)}{shared} but only "
                      f"{_gib(available)} of {where} is available: reduce {drivers}")


def check_step_memory(compiled, mesh, keys: dict, what: str = "the train step") -> MemoryEstimate:
    """Check that ``compiled`` (the step over ``mesh``) fits; ``keys`` name the config values behind it."""
    devices = [d for d in mesh.devices.flat if d.process_index == jax.process_index()]
    platform_devices = len(devices) if devices and devices[0].platform == "cpu" else 1
    estimate = MemoryEstimate(step_bytes(compiled), platform_devices)
    available, where = available_bytes(devices[0]) if devices else (None, "")
    check_fits(estimate, available, where, keys, what)
    return estimate


def size_keys(cfg) -> dict:
    """The config values that drive a step's memory: the batch size and the model's sizes."""
    keys = {"batch_size": cfg.batch_size}
    for k, v in cfg.model.items():
        if isinstance(v, int) and not isinstance(v, bool) and any(
                w in k for w in ("size", "dim", "width", "d_", "hidden", "layers", "len", "features", "channels")):
            keys[f"model.{k}"] = v
    return keys


__all__ = ["HEADROOM", "MemoryEstimate", "available_bytes", "check_batch_sizes", "check_fits", "check_step_memory",
           "device_available_bytes", "host_available_bytes", "size_keys", "step_bytes", "tree_bytes"]
