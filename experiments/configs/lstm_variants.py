"""The base of the LSTM-variants comparison (Greff et al. 2017): one variant, one seed.

experiments/lstm_variants.py runs it for the full LSTM and the eight variants over 3 seeds.
Run one:  lectarch train --config experiments/configs/lstm_variants.py --workdir runs/variant_NIG --config.model.variant=NIG
Runtime:  about 40 s on a 2-core CPU (800 steps, adding problem T=50); all 27 runs about 20 minutes.
Expected: most variants reach MSE far below the baseline 1/6; the measured table is in
          experiments/results/recurrent/lstm_variants.md.
"""

from lectarch.config import base_config
from lectarch.data.sequence_tasks import default_config as task
from lectarch.models.recurrent import default_config as recurrent


def get_config():
    c = base_config()
    c.objective = "regression"
    c.num_steps = 800
    c.batch_size = 64
    c.eval_batch_size = 256
    c.learning_rate = 3e-3
    c.log_every = 100
    c.eval_every = 200
    c.checkpoint_every = 800
    c.clip.global_norm = 1.0
    c.clip.elementwise = 0.0
    c.model = recurrent("lstm")
    c.model.family = "many_to_one"
    c.model.hidden = 64
    c.model.variant = "full"
    c.data = task("adding")
    c.data.T = 50
    return c
