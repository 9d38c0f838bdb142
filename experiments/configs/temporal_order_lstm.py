"""Many-to-one: the LSTM on the temporal-order task (Hochreiter & Schmidhuber; Pascanu et al. 2013).

Classify the order of the two relevant symbols (XX, XY, YX, YY) hidden among distractors.
Run:      lectarch train --config experiments/configs/temporal_order_lstm.py --workdir runs/temporal_order
Runtime:  about 1.5 minutes on a 2-core CPU (1500 steps, T=50).
Expected: test accuracy near 1.0 against the baseline 0.25 (logged as baseline_accuracy); the
          measured value is in experiments/results/recurrent/family.md.
"""

from lectarch.config import base_config
from lectarch.data.sequence_tasks import default_config as task
from lectarch.models.recurrent import default_config as recurrent


def get_config():
    c = base_config()
    c.objective = "classification"
    c.num_steps = 1500
    c.batch_size = 64
    c.eval_batch_size = 256
    c.learning_rate = 3e-3
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 500
    c.clip.global_norm = 1.0
    c.clip.elementwise = 0.0
    c.model = recurrent("lstm")
    c.model.family = "many_to_one"
    c.model.hidden = 64
    c.model.embed_dim = 8
    c.data = task("temporal_order")
    c.data.T = 50
    return c
