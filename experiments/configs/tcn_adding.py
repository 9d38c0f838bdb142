"""A temporal convolutional network (Bai et al. 2018) on the adding problem (baseline MSE 1/6).

Run:      lectarch train --config experiments/configs/tcn_adding.py --workdir runs/tcn_adding
          (longer: --config.data.T=400 --config.model.levels=7; the receptive field
          1 + 2 (k - 1)(2^L - 1) must reach T: lectarch receptive-field --config THIS_FILE)
Runtime:  about 1-2 minutes on a 2-core CPU at T=100 (1000 steps of batch 64).
Expected: test MSE well under the baseline 1/6 at T=100 (receptive field 1 + 2*2*63 = 253 >= 100);
          the comparison with the LSTM and the tanh RNN: python -m experiments.tcn_vs_lstm
          (experiments/results/tcn/results.md).
"""

from lectarch.config import base_config
from lectarch.data.sequence_tasks import default_config as task
from lectarch.models.tcn import default_config as tcn


def get_config():
    c = base_config()
    c.objective = "regression"
    c.num_steps = 1000
    c.batch_size = 64
    c.eval_batch_size = 256
    c.learning_rate = 2e-3
    c.log_every = 100
    c.eval_every = 250
    c.checkpoint_every = 1000
    c.clip.global_norm = 1.0
    c.clip.elementwise = 0.0
    c.model = tcn()
    c.model.channels = 24
    c.model.levels = 6  # receptive field 1 + 2 * 2 * 63 = 253 >= T
    c.model.kernel_size = 3
    c.model.family = "many_to_one"
    c.data = task("adding")
    c.data.T = 100
    c.data.variant = "le"
    return c
