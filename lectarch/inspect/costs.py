"""What a program costs once XLA has compiled it: FLOPs, bytes, memory, compile time, HLO text.

``jax.jit(f).lower(*args)`` gives the StableHLO module JAX emits; ``.compile()`` gives XLA's
optimised program, whose ``cost_analysis()`` counts floating-point operations and bytes accessed
and whose ``memory_analysis()`` sizes its buffers. Nothing is executed: abstract arguments suffice.

Peak memory: ``peak_memory_bytes`` is the larger of XLA's ``peak_memory_in_bytes`` and the sum of
the program's buffers, arguments + outputs + temporaries - aliased (donated) bytes. On GPU/TPU the
first is XLA's heap simulation; on CPU it can leave out temporaries (an LSTM step reported 0.25 MiB
peak beside 16 MiB of temporaries), so the buffer sum is the honest number there. Both are kept.
"""

import dataclasses
import time
from collections.abc import Callable

import jax

from lectarch.inspect.programs import function_and_args
from lectarch.train.run import Run
from lectarch.train import sharding


@dataclasses.dataclass
class Costs:
    flops: float
    bytes_accessed: float
    transcendentals: float
    argument_bytes: int
    output_bytes: int
    temp_bytes: int
    alias_bytes: int
    peak_memory_bytes: int
    xla_peak_bytes: int
    lower_seconds: float
    compile_seconds: float
    num_devices: int = 1
    stablehlo: str = dataclasses.field(default="", repr=False)
    optimized_hlo: str = dataclasses.field(default="", repr=False)

    def summary(self) -> dict:
        """The numbers (no HLO text), ready for JSON."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("stablehlo", "optimized_hlo")}


def _cost_dict(compiled) -> dict:
    cost = compiled.cost_analysis()
    if isinstance(cost, (list, tuple)):  # older JAX: one dict per device program
        cost = cost[0] if cost else {}
    return dict(cost or {})


def compile_costs(jitted: Callable, *args, keep_text: bool = False, num_devices: int = 1,
                  compiler_options: dict | None = None) -> Costs:
    """Lower and compile ``jitted`` (a ``jax.jit`` function) for ``args``, timing both steps.

    ``compiler_options``: XLA options, e.g. ``{"xla_backend_optimization_level": 0}`` for a faster
    compile; FLOPs and bytes are counted on the optimised HLO, before the backend's code generation."""
    t0 = time.perf_counter()
    lowered = jitted.lower(*args)
    t1 = time.perf_counter()
    compiled = lowered.compile(compiler_options)
    t2 = time.perf_counter()
    cost = _cost_dict(compiled)
    mem = compiled.memory_analysis()
    arg, out = int(mem.argument_size_in_bytes), int(mem.output_size_in_bytes)
    temp, alias = int(mem.temp_size_in_bytes), int(mem.alias_size_in_bytes)
    xla_peak = int(getattr(mem, "peak_memory_in_bytes", 0) or 0)
    peak = max(xla_peak, arg + out + temp - alias)
    return Costs(flops=float(cost.get("flops", 0.0)), bytes_accessed=float(cost.get("bytes accessed", 0.0)),
                 transcendentals=float(cost.get("transcendentals", 0.0)), argument_bytes=arg,
                 output_bytes=out, temp_bytes=temp, alias_bytes=alias, peak_memory_bytes=peak, xla_peak_bytes=xla_peak,
                 lower_seconds=t1 - t0, compile_seconds=t2 - t1, num_devices=num_devices,
                 stablehlo=lowered.as_text() if keep_text else "",
                 optimized_hlo=compiled.as_text() if keep_text else "")


def jit_program(run: Run, what: str, *, sharded: bool = False, step_kind: str = "lean") -> tuple[Callable, tuple, int]:
    """``what`` jitted as the trainer would: the state donated; with ``sharded``, the batch split over
    the config's data mesh (costs are then per device)."""
    fn, args = function_and_args(run, what, step_kind)
    donate = (0,) if what == "train_step" else ()
    if not sharded:
        return jax.jit(fn, donate_argnums=donate), args, 1
    mesh = sharding.make_mesh(run.cfg.get("num_devices", 0))
    n = sharding.num_data_shards(mesh)
    rep, data = sharding.replicated(mesh), sharding.batch_sharding(mesh)
    in_shardings = {"forward": (rep, rep, data), "grad": (rep, rep, data, rep), "train_step": (rep, data)}[what]
    return jax.jit(fn, in_shardings=in_shardings, donate_argnums=donate), args, n


def program_costs(run: Run, what: str, *, sharded: bool = False, keep_text: bool = False,
                  compiler_options: dict | None = None, step_kind: str = "lean") -> Costs:
    jitted, args, n = jit_program(run, what, sharded=sharded, step_kind=step_kind)
    return compile_costs(jitted, *args, keep_text=keep_text, num_devices=n, compiler_options=compiler_options)


def format_costs(c: Costs) -> str:
    per = " per device" if c.num_devices > 1 else ""
    return "\n".join([
        f"FLOPs{per}:            {c.flops:,.0f} ({c.flops / 1e9:.3f} GFLOP)",
        f"bytes accessed{per}:   {c.bytes_accessed:,.0f} ({c.bytes_accessed / 2**20:.1f} MiB)",
        f"transcendentals:     {c.transcendentals:,.0f}",
        f"peak memory{per}:      {c.peak_memory_bytes:,} bytes ({c.peak_memory_bytes / 2**20:.1f} MiB: "
        f"arguments {c.argument_bytes / 2**20:.1f} + outputs {c.output_bytes / 2**20:.1f} + "
        f"temporaries {c.temp_bytes / 2**20:.1f} - donated {c.alias_bytes / 2**20:.1f}; "
        f"XLA's own peak {c.xla_peak_bytes / 2**20:.1f})",
        f"lower time:          {c.lower_seconds:.3f} s",
        f"compile time:        {c.compile_seconds:.3f} s",
    ])
