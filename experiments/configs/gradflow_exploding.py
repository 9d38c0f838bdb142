"""Exploding gradients (Pascanu, Mikolov and Bengio 2013): a tanh RNN whose recurrent matrix has
spectral radius 2, trained with plain SGD without and with gradient-norm clipping.

Run:      python -m experiments.exploding --workdir runs/exploding
          (both runs; R starts as an orthogonal matrix times ``model.recurrent_spectral_radius``,
          so `lectarch train` and `lectarch gradflow --config` of this file start from the same R)
Runtime:  about 3 minutes on a busy 2-core CPU (2 runs x up to 600 steps, T=50).
Expected: at initialisation ||dL/dh_1|| / ||dL/dh_T|| is about 7e3, ||dh_T/dh_1||_2 about 3e4 and
          the global gradient norm about 3e3; with SGD lr 0.1 and no clipping the loss reaches
          ~1e35 and the run stops as non-finite at step 29; with clip.global_norm=1 it trains
          to the end (train loss ~0.15). Measured: docs/inspection.md
          section "Experiments".
"""

from lectarch.config import base_config
from lectarch.data.sequence_tasks import default_config as task
from lectarch.models.recurrent import default_config as recurrent


def get_config():
    c = base_config()
    c.objective = "regression"
    c.num_steps = 600
    c.batch_size = 64
    c.eval_batch_size = 500
    c.optimizer.name = "sgd"
    c.learning_rate = 0.1
    c.log_every = 1  # every step: the spikes are single steps
    c.eval_every = 300
    c.checkpoint_every = 600
    c.log_grad_norms = True
    c.clip.global_norm = 0.0  # experiments/exploding.py runs 0 (off) and 1.0
    c.model = recurrent("rnn")
    c.model.cell = "elman"
    c.model.family = "many_to_one"
    c.model.hidden = 32
    c.model.activation = "tanh"
    c.model.recurrent_spectral_radius = 2.0  # R = 2 x orthogonal at initialisation
    c.data = task("adding")
    c.data.T = 50
    c.data.variant = "le"
    c.data.num_eval = 500
    return c
