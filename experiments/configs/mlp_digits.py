"""The multi-layer perceptron on scikit-learn's handwritten digits (the default experiment).

Run:      lectarch train --config experiments/configs/mlp_digits.py --workdir runs/mlp_digits
Runtime:  about 20 s on a 2-core CPU (1500 steps of batch 64, plus start-up).
Expected: test accuracy about 0.97-0.98 (>= 0.95 is tested), on the fixed 360-image test split.
"""

from lectarch.config import base_config
from lectarch.data.digits import default_config as digits
from lectarch.models.mlp import default_config as mlp


def get_config():
    c = base_config()
    c.num_steps = 1500
    c.batch_size = 64
    c.learning_rate = 1e-3
    c.log_every = 50
    c.eval_every = 250
    c.checkpoint_every = 500
    c.model = mlp()
    c.model.depth = 2
    c.model.width = 128
    c.data = digits()
    return c
