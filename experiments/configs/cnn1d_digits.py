"""A 1-D CNN on "sequential digits": scikit-learn's 8x8 digits read as 64-step signals of one pixel.

Run:      lectarch train --config experiments/configs/cnn1d_digits.py --workdir runs/cnn1d_digits
          (causal convolutions: --config.model.padding=causal; dilated: --config.model.dilation=2;
          8 rows of 8 pixels instead: --config.data.layout=image --config.data.as_sequence=rows)
Runtime:  about 30 s on a 2-core CPU (1000 steps of batch 64).
Expected: test accuracy about 0.9 (the 2-D CNN of cnn_digits.py: ~0.98; a guess: 0.1);
          pictures/filters_layer1_*.png (filters as curves) and pictures/feature_maps_*.png
          (channels x time under the input signal) in the workdir.
"""

from lectarch.config import base_config
from lectarch.data.digits import default_config as digits
from lectarch.models.cnn import default_config as cnn


def get_config():
    c = base_config()
    c.num_steps = 1000
    c.batch_size = 64
    c.learning_rate = 3e-3
    c.log_every = 50
    c.eval_every = 500
    c.checkpoint_every = 500
    c.model = cnn()
    c.model.dims = 1
    c.model.channels = (16, 32)
    c.model.kernel_size = 5
    c.model.padding = "same"
    c.model.pool = "max"
    c.model.pool_size = 2
    c.data = digits()
    c.data.layout = "flat"
    c.data.as_sequence = "steps"  # (64,) -> (64, 1)
    return c
