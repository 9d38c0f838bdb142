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
