"""The tanh (Elman) RNN on the adding problem: the lecture's example of vanishing gradients.

Run:      lectarch train --config experiments/configs/adding_rnn.py --workdir runs/adding_rnn
          (other lengths: --config.data.T=50 / 200)
Runtime:  about 1 minute on a 2-core CPU at T=100 (2000 steps of batch 64).
Expected: the RNN stays at the baseline (test MSE about 1/6) at T=100 and 200: it cannot carry
          the first marked value across ~50 steps. Measured numbers:
          experiments/results/recurrent/rnn_vs_lstm.md (experiments/rnn_vs_lstm.py).
"""

from lectarch.config import base_config
from lectarch.data.sequence_tasks import default_config as task
from lectarch.models.recurrent import default_config as recurrent


def get_config():
    c = base_config()
    c.objective = "regression"
    c.num_steps = 2000
    c.batch_size = 64
    c.eval_batch_size = 256
    c.learning_rate = 1e-3
    c.log_every = 100
    c.eval_every = 250
    c.checkpoint_every = 1000
    c.clip.global_norm = 1.0  # gradient clipping keeps exploding gradients in check
    c.clip.elementwise = 0.0
    c.model = recurrent("rnn")
    c.model.family = "many_to_one"
    c.model.hidden = 128
    c.model.activation = "tanh"
    c.data = task("adding")
    c.data.T = 100
    c.data.variant = "le"
    return c
