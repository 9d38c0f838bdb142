"""Many-to-many (aligned): the LSTM on the copy/memory task of Arjovsky et al. (2016).

A dense output at every step; the ten symbols must be reproduced after a delay of T blanks.
Run:      lectarch train --config experiments/configs/copy_lstm.py --workdir runs/copy_lstm
Runtime:  about 2-4 minutes on a 2-core CPU (2000 steps, T=20; 222 s measured on a loaded machine).
Expected: test cross-entropy below the memoryless baseline 10 ln 8 / (T + 20) = 0.52 (logged as
          baseline_loss beside loss); measured: loss 0.29, accuracy 0.86 (baseline accuracy 0.78).
"""

from lectarch.config import base_config
from lectarch.data.sequence_tasks import default_config as task
from lectarch.models.recurrent import default_config as recurrent


def get_config():
    c = base_config()
    c.objective = "classification"
    c.num_steps = 2000
    c.batch_size = 64
    c.eval_batch_size = 256
    c.learning_rate = 3e-3
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 1000
    c.clip.global_norm = 1.0
    c.clip.elementwise = 0.0
    c.model = recurrent("lstm")
    c.model.family = "many_to_many"
    c.model.hidden = 128
    c.model.embed_dim = 16
    c.data = task("copy_memory")
    c.data.T = 20
    return c
