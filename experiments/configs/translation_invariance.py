"""Translation invariance: how much hidden responses and predictions change when the input shifts.

Run:      python -m experiments.translation_invariance --config experiments/configs/translation_invariance.py --workdir runs/invariance
Runtime:  about 2 minutes on a 2-core CPU (trains the CNN of cnn_digits.py once per pooling
          variant in ``invariance.pools``, then shifts every test image by 1..max_shift pixels).
Expected: with max pooling the hidden responses (the maps the dense layer reads) change less under
          a 1-pixel shift than without pooling, and fewer predictions flip; both degrade as the
          shift grows (8x8 digits: a 3-pixel shift moves most of the digit). Writes
          ``invariance.png``, ``invariance.json`` and a table (results in
          experiments/results/cnn/invariance.md).
"""

import pathlib

import ml_collections

from lectarch.config.load import read_config_file


def get_config():
    c = read_config_file(pathlib.Path(__file__).with_name("cnn_digits.py"))
    c.checkpoint_every = 1500
    c.invariance = ml_collections.ConfigDict()
    c.invariance.max_shift = 3  # pixels, horizontal and vertical, both directions
    c.invariance.pools = ("max", "avg", "none")  # model.pool of each variant trained and compared
    return c
