"""The Transformer reverses random token sequences: source s_1..s_n, target s_n..s_1 (n = 1..10, 10 symbols).

Run:      lectarch train --config experiments/configs/transformer_reverse.py --workdir runs/transformer_reverse
          lectarch decode --workdir runs/transformer_reverse          # exact match on all 512 held-out sequences
Runtime:  about 4 minutes on a 2-core CPU: 2000 steps at 10-11 steps/s (measured in a 300-step
          timing run, 45 s wall with start-up, compile and one eval, load average ~3.5). Measured runs,
          with their conditions: experiments/results/transformer/toy_tasks.md.
Expected: exact-match sequence accuracy of greedy decoding on the 512 held-out sequences:
          0.910 at step 500, 0.984 at 1000, 0.998 at 1500, 1.000 at 2000 (measured, seed 0; beam 4 also 1.000).
"""

import pathlib

from lectarch.config.load import read_config_file


def get_config():
    """transformer_copy.py's model and recipe, on the reverse task."""
    c = read_config_file(pathlib.Path(__file__).with_name("transformer_copy.py"))
    c.data.task = "reverse"
    return c
