"""The small CNN (conv-pool-conv-pool-dense) on scikit-learn's 8x8 handwritten digits.

Run:      lectarch train --config experiments/configs/cnn_digits.py --workdir runs/cnn_digits
Runtime:  about 20-40 s on a 2-core CPU (1500 steps of batch 64, plus start-up; 35 s measured
          with other jobs running).
Expected: test accuracy about 0.98 with 6,090 parameters (the MLP of mlp_digits.py: ~0.97 with
          26,122); pictures/filters_layer1_*.png and pictures/feature_maps_*.png in the workdir.
          Both side by side over 3 seeds: python -m experiments.mlp_vs_cnn (results in
          experiments/results/cnn/mlp_vs_cnn.md).
"""

from lectarch.config import base_config
from lectarch.data.digits import default_config as digits
from lectarch.models.cnn import default_config as cnn


def get_config():
    c = base_config()
    c.num_steps = 1500
    c.batch_size = 64
    c.learning_rate = 3e-3
    c.log_every = 50
    c.eval_every = 500
    c.checkpoint_every = 500
    c.model = cnn()
    c.model.channels = (16, 32)
    c.model.kernel_size = 3
    c.model.pool = "max"
    c.model.pool_size = 2
    c.model.dims = 2  # images: flat digits are a one-line error, not a 64-step signal
    c.data = digits()
    c.data.layout = "image"  # (8, 8, 1)
    return c
