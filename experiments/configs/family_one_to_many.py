"""One-to-many: from one vector (a one-hot start k) the LSTM emits k, k+1, ... for 8 steps.

The vector is fed at the first step, zeros after (as an image feeds a caption generator).
Run:      lectarch train --config experiments/configs/family_one_to_many.py --workdir runs/family_one_to_many
Runtime:  about 30 s on a 2-core CPU (600 steps).
Expected: test accuracy 1.0 against the baseline 1/vocab = 0.1; measured value in
          experiments/results/recurrent/family.md.
"""

from lectarch.config import base_config
from lectarch.data.sequence_tasks import default_config as task
from lectarch.models.recurrent import default_config as recurrent


def get_config():
    c = base_config()
    c.objective = "classification"
    c.num_steps = 600
    c.batch_size = 64
    c.eval_batch_size = 256
    c.learning_rate = 1e-2
    c.log_every = 100
    c.eval_every = 300
    c.checkpoint_every = 300
    c.clip.global_norm = 1.0
    c.clip.elementwise = 0.0
    c.model = recurrent("lstm")
    c.model.family = "one_to_many"
    c.model.hidden = 64
    c.data = task("counting")
    c.data.vocab = 10
    c.data.length = 8
    return c
