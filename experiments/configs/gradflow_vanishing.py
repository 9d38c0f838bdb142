"""Vanishing gradients through time: a tanh RNN, the LSTM and Greff et al.'s variants on the adding problem.

Run:      python -m experiments.vanishing --workdir runs/vanishing            (all models, plots + CSV)
          lectarch gradflow --config experiments/configs/gradflow_vanishing.py --out runs/vanishing_lstm_init
          lectarch train --config experiments/configs/gradflow_vanishing.py --workdir runs/vanishing_lstm
Runtime:  experiments/vanishing.py: about 13 minutes on a busy 2-core CPU (10 models x 1000 steps,
          T=50); one `lectarch train` about 1 minute.
Expected: at initialisation ||dL/dh_1|| / ||dL/dh_T|| is about 4e-3 for the tanh RNN, 1.5e-2 for
          the LSTM (forget bias 1), 4e-8 for CIFG (its forget gate 1 - i starts at 1/2) and 0.5-3
          for the variants without an input or forget gate; after 1000 Adam steps every model
          beats the baseline MSE 1/6 at T=50 (tanh RNN 0.036, LSTM 0.008, CIFG 0.001).
          Measured numbers and plots: docs/inspection.md
          section "Experiments".
"""

from lectarch.config import base_config
from lectarch.data.sequence_tasks import default_config as task
from lectarch.models.recurrent import default_config as recurrent


def get_config():
    c = base_config()
    c.objective = "regression"
    c.num_steps = 1000
    c.batch_size = 64
    c.eval_batch_size = 500
    c.learning_rate = 3e-3
    c.log_every = 50
    c.eval_every = 500
    c.checkpoint_every = 1000
    c.log_grad_norms = True
    c.clip.global_norm = 1.0
    c.model = recurrent("lstm")  # experiments/vanishing.py also runs model.cell=elman and every model.variant
    c.model.family = "many_to_one"
    c.model.hidden = 32
    c.data = task("adding")
    c.data.T = 50
    c.data.variant = "le"
    c.data.num_eval = 500
    return c
