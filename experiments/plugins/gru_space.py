"""Learning rate and width of the GRU on parity (gru_config.py): a space file beside its plug-ins.

Run:  lectarch sweep --config gru_config.py --space gru_space.py --workdir runs/gru_sweep
      (or --config RUN/config.json: the sweep starts from a trained run's saved config)
"""

SAMPLER = "random"
TRIALS = 3
METRIC, DIRECTION = "accuracy", "maximize"
PRUNER = None


def space(trial) -> dict:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-3, 3e-2, log=True),
        "model.hidden": trial.suggest_categorical("model.hidden", [16, 32]),
    }
