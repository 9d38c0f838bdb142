"""Benchmark rows, one module per topic; ``python -m experiments.bench`` collects them.

Each module exposes ``cases(args) -> list[Case]``. A ``Case`` is one implementation of one piece
of work; cases with the same ``work`` are timed in the same run and compared to ``lectarch``.
``args`` carries the bench's flags; a row reads ``quick`` (smallest CPU sizes) and ``tiny`` (the
GPU rows at tiny shapes, on whatever device JAX has: how a CPU checks their logic).
"""

import dataclasses
from collections.abc import Callable


@dataclasses.dataclass
class Case:
    work: str  # what is computed, identical across implementations, e.g. "MLP 64-128-128-10 B=64 f32"
    impl: str  # "lectarch" | "plain JAX" | "PyTorch" | ...
    setup: Callable[[], Callable[[], None]]  # builds everything; returns a step() that runs one training step and blocks
    flops: float | None = None  # per step, for TFLOP/s
    device: str = "cpu"  # "cpu" or "gpu": gpu cases run only when a GPU is present (or under --tiny)
    repeats: int | None = None  # at most this many timed rounds (slow work)
    warmup: int | None = None  # at most this many untimed warm-up calls after the first (slow work)
    lead_in: int | None = None  # at most this many untimed calls before each timed one (slow work)


def tiny(args) -> bool:
    """The GPU rows at tiny shapes, run on any device (``--tiny``)."""
    return bool(getattr(args, "tiny", False))


def quick(args) -> bool:
    """The smallest CPU sizes (``--quick``; ``--tiny`` implies it)."""
    return bool(getattr(args, "quick", False)) or tiny(args)


def gpu_present() -> bool:
    """JAX runs on a GPU: the cases that exist only there (cuDNN kernels) are built."""
    import jax

    return jax.default_backend() == "gpu"


def torch_device(device: str) -> str:
    """PyTorch's device for a case of ``device``: ``cuda`` for a GPU case where PyTorch sees one."""
    import torch

    return "cuda" if device == "gpu" and torch.cuda.is_available() else "cpu"


def lectarch_step(cfg, graphdef, state, tx, objective, host_batch: dict, *, kind: str = "lean") -> Callable[[], None]:
    """One lectarch training step on one device, on a fixed batch, built by the trainer's one step
    builder: ``make_train_step(graphdef, tx, objective, step_options(cfg, kind))``, jitted over a
    one-device mesh. ``step()`` runs it and blocks. ``kind``: ``"lean"`` (the step the trainer runs
    when no metric is read) or ``"logging"`` (the step of log, eval and checkpoint steps)."""
    import jax

    from lectarch.train import sharding
    from lectarch.train.step import make_train_step, step_options

    mesh = sharding.make_mesh(1)
    step_fn = sharding.jit_train_step(mesh, make_train_step(graphdef, tx, objective, step_options(cfg, kind)))
    batch = sharding.global_batch(mesh, host_batch)
    holder = {"state": sharding.place_state(mesh, state)}

    def step():
        holder["state"], metrics = step_fn(holder["state"], batch)
        jax.block_until_ready(metrics["loss"])

    return step
