"""What fits before anything runs: the per-device peak memory of a config's train step, as
configured and with each memory tool (rematerialisation, gradient accumulation, bfloat16), from
XLA's memory analysis of the compiled step at abstract shapes (no parameter memory, no data).

Data parallelism replicates the state and splits the batch, so one device of an N-device run holds
the program of the per-device batch ``batch_size / N``: that program is what is compiled and
measured here, on whatever machine runs the command (a laptop can size an 8-GPU run). The peak is
``lectarch.train.memory.step_bytes``: arguments + outputs + temporaries - donated buffers, the figure
the trainer's memory check compares with the device before training.
"""

import dataclasses
from collections.abc import Callable, Sequence

import jax

from lectarch.config import ConfigError

# (name, overrides); a variant whose keys the model lacks is reported as not applicable
VARIANTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("as configured", ()),
    ("remat", ("model.remat=block",)),
    ("accumulate 2", ("accumulate_steps=2",)),
    ("accumulate 4", ("accumulate_steps=4",)),
    ("accumulate 8", ("accumulate_steps=8",)),
    ("bfloat16", ("model.dtype=bfloat16",)),
    ("bfloat16 + remat + accumulate 8", ("model.dtype=bfloat16", "model.remat=block", "accumulate_steps=8")),
)


@dataclasses.dataclass(frozen=True)
class MemoryRow:
    variant: str
    overrides: tuple[str, ...]
    per_device_batch: int
    peak_bytes: int | None  # None: not applicable (``note`` says why)
    note: str = ""

    def fits(self, available: int | None, headroom: float) -> bool | None:
        if self.peak_bytes is None or available is None:
            return None
        return self.peak_bytes <= headroom * available


def variant_row(load: Callable[[Sequence[str]], object], name: str, overrides: tuple[str, ...],
                num_devices: int) -> MemoryRow:
    """The row of one variant: ``load(overrides)`` gives the config with them applied."""
    from lectarch.experiment import build_run
    from lectarch.train.memory import step_bytes

    try:
        cfg = load(overrides)
    except ConfigError as e:
        return MemoryRow(name, overrides, 0, None, f"not applicable: {e}")
    if cfg.batch_size % num_devices:
        raise ConfigError(f"config.batch_size={cfg.batch_size} does not split over {num_devices} devices")
    per_device = cfg.batch_size // num_devices
    k = cfg.get("accumulate_steps", 1)
    if per_device % k:
        return MemoryRow(name, overrides, per_device, None,
                         f"not applicable: the per-device batch {per_device} does not split into {k} micro-batches")
    with jax.numpy_dtype_promotion("standard"):
        run = build_run(cfg, abstract=True, num_devices=1, batch_size=per_device)
        step = jax.jit(run.train_step("lean"), donate_argnums=0)
        compiled = step.lower(run.state, run.batch_spec(per_device, sharded=False)).compile()
    return MemoryRow(name, overrides, per_device, step_bytes(compiled))


def memory_rows(load: Callable[[Sequence[str]], object], num_devices: int,
                progress: Callable[[str], None] = lambda _: None) -> list[MemoryRow]:
    rows = []
    for name, overrides in VARIANTS:
        progress(name)
        rows.append(variant_row(load, name, overrides, num_devices))
    return rows


def _gib(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 2**shift:
            return f"{n / 2**shift:.2f} {unit}"
    return f"{n} B"


def format_table(rows: list[MemoryRow], available: int | None, where: str, headroom: float) -> str:
    lines = [f"{'variant':<34} {'batch/device':>12} {'peak/device':>12}  fits {where}"]
    for r in rows:
        if r.peak_bytes is None:
            lines.append(f"{r.variant:<34} {r.per_device_batch or '':>12} {'-':>12}  {r.note}")
            continue
        fits = r.fits(available, headroom)
        mark = "unknown" if fits is None else "yes" if fits else "NO"
        lines.append(f"{r.variant:<34} {r.per_device_batch:>12} {_gib(r.peak_bytes):>12}  {mark}")
    lines.append(f"available: {_gib(available).strip() if available else 'unknown'} ({where}); a step fits when its "
                 f"peak is at most {headroom:.0%} of it (lectarch.train.memory.HEADROOM)")
    return "\n".join(lines)


__all__ = ["MemoryRow", "VARIANTS", "format_table", "memory_rows", "variant_row"]
