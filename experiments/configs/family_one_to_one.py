"""One-to-one: an LSTM read for a single step on the flat digits (a feed-forward net in disguise).

Run:      lectarch train --config experiments/configs/family_one_to_one.py --workdir runs/family_one_to_one
Runtime:  about 20 s on a 2-core CPU (1000 steps).
Expected: test accuracy about 0.95 on the 360 test digits; measured value in
          experiments/results/recurrent/family.md.
"""

from lectarch.config import base_config
from lectarch.data.digits import default_config as digits
from lectarch.models.recurrent import default_config as recurrent


def get_config():
    c = base_config()
    c.objective = "classification"
    c.num_steps = 1000
    c.batch_size = 64
    c.eval_batch_size = 120
    c.learning_rate = 3e-3
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 500
    c.clip.global_norm = 1.0
    c.clip.elementwise = 0.0
    c.model = recurrent("lstm")
    c.model.family = "one_to_one"
    c.model.hidden = 64
    c.data = digits()
    return c
