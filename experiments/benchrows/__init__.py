"""Benchmark rows, one module per topic; ``experiments/bench.py`` collects them.

Each module exposes ``cases(args) -> list[Case]``. A ``Case`` is one implementation of one piece
of work; cases with the same ``work`` are timed in the same run and compared to ``lectarch``.
"""

import dataclasses
from collections.abc import Callable


@dataclasses.dataclass
class Case:
    work: str  # what is computed, identical across implementations, e.g. "MLP 64-128-128-10 B=64 f32"
    impl: str  # "lectarch" | "plain JAX" | "PyTorch" | ...
    setup: Callable[[], Callable[[], None]]  # builds everything; returns a step() that runs one training step and blocks
    flops: float | None = None  # per step, for TFLOP/s
    device: str = "cpu"  # "cpu" or "gpu": gpu cases run only when a GPU is present
    repeats: int | None = None  # override the harness's --repeats for slow work


def lectarch_step(graphdef, state, tx, objective, host_batch: dict, *, lean: bool = True,
                  nonfinite_check: str | None = None) -> Callable[[], None]:
    """One lectarch training step on one device, as the trainer compiles it, on a fixed batch:
    ``step()`` runs it and blocks. ``lean``: the step without the logged gradient norms (what the
    trainer runs on steps whose metrics are not read). ``nonfinite_check``: as the trainer sets it
    unless given: the config's default on lean steps, ``"params"`` on logging steps."""
    from lectarch.config import base_config

    if nonfinite_check is None:
        nonfinite_check = base_config().nonfinite_check if lean else "params"
    import jax

    from lectarch.train import sharding
    from lectarch.train.step import make_train_step

    mesh = sharding.make_mesh(1)
    step_fn = sharding.jit_train_step(mesh, make_train_step(graphdef, tx, objective, lean=lean,
                                                            nonfinite_check=nonfinite_check))
    batch = sharding.global_batch(mesh, host_batch)
    holder = {"state": sharding.place_state(mesh, state)}

    def step():
        holder["state"], metrics = step_fn(holder["state"], batch)
        jax.block_until_ready(metrics["loss"])

    return step
