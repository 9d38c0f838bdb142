"""Hyperparameter sweeps: Optuna studies of full training runs (``optuna_sweep``, ``results``,
search spaces as Python files in ``space``) and K trials trained at once with ``jax.vmap``
(``vmapped``)."""
