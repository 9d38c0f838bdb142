"""The LSTM on the adding problem (Le, Jaitly & Hinton's variant; baseline MSE 1/6).

Run:      lectarch train --config experiments/configs/adding_lstm.py --workdir runs/adding_lstm
          (other lengths: --config.data.T=50 / 200; Hochreiter & Schmidhuber's variant:
          --config.data.variant=hochreiter, baseline MSE 1/24)
Runtime:  about 1.5 minutes on a 2-core CPU at T=100 (2000 steps of batch 64).
Expected: test MSE below 0.0167 (10x under the baseline 1/6) at T=100; measured numbers are in
          experiments/results/recurrent/rnn_vs_lstm.md (experiments/rnn_vs_lstm.py; docs/recurrent.md
          section "tanh RNN against LSTM on long sequences (the adding problem)").
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
    c.learning_rate = 3e-3
    c.log_every = 100
    c.eval_every = 250
    c.checkpoint_every = 1000
    c.clip.global_norm = 1.0  # gradient clipping (Pascanu et al.); elementwise: c.clip.elementwise
    c.clip.elementwise = 0.0
    c.model = recurrent("lstm")
    c.model.family = "many_to_one"
    c.model.hidden = 64
    c.model.forget_bias = 1.0
    c.data = task("adding")
    c.data.T = 100
    c.data.variant = "le"
    return c
