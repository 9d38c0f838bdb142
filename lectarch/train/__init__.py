"""Training: state, optimiser, objectives, the pure step, sharding, checkpoints, metrics, the loop."""
