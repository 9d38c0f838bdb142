"""A GRU learns the parity of 6 bits: a model and a dataset that are not built into lectarch.

The model (``gru_model.py``) and the dataset (``parity_data.py``) sit beside this file and are
named by module path; copy this folder anywhere and the commands below work from there.

Run:      lectarch train --config gru_config.py --workdir runs/gru_parity
          lectarch visualize --workdir runs/gru_parity
          lectarch inspect --workdir runs/gru_parity --no-compile
          lectarch sweep --config runs/gru_parity/config.json --space gru_space.py --workdir runs/gru_sweep
Runtime:  about 30 s on a 2-core CPU (1500 steps of batch 64).
Expected: eval accuracy well above the 0.5 of guessing once the GRU has found parity (tested only
          for running end to end: tests/plugins/test_plugin_outside_repo.py).
"""

import gru_model
import parity_data

from lectarch.config import base_config


def get_config():
    c = base_config()
    c.num_steps = 1500
    c.batch_size = 64
    c.eval_batch_size = 256
    c.learning_rate = 1e-2
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 500
    c.model = gru_model.default_config()
    c.data = parity_data.default_config()
    return c
