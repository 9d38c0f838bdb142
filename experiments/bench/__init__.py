"""How fast lectarch trains, beside plain JAX and PyTorch doing the same work; apart from the lecture.

- ``python -m experiments.bench``: one training step of each piece of work, interleaved in rounds
  (``run.py``; its rows in ``rows/``, one module per topic; ``machine.py``: threads and load).
- ``python -m experiments.bench.profile_steps``: where a CPU step's time goes, by operation.
- ``cpu_directions.py``: rows for the bench measuring each direction for closing a CPU gap.
- ``python -m experiments.bench.xla_flags_sweep``: XLA CPU flags, one bench process per flag.
- ``python -m experiments.bench.recurrent_cpu_single_thread``: the recurrent step on one thread.

Importing this package imports nothing else: the bench sets threads before JAX starts.
"""
