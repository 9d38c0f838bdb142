"""Many-to-many encoder-decoder: the LSTM reverses a sequence of 8 symbols.

The encoder's final states (c, h per layer) start the decoder, which reads the target shifted
right (teacher forcing) and emits the reversed source.
Run:      lectarch train --config experiments/configs/family_encoder_decoder.py --workdir runs/family_encdec
Runtime:  about 1.5 minutes on a 2-core CPU (1500 steps).
Expected: test (teacher-forced) accuracy well above the baseline 1/8; measured value in the README.
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
    c.model.family = "encoder_decoder"
    c.model.hidden = 128
    c.model.embed_dim = 16
    c.data = task("reverse")
    c.data.vocab = 10
    c.data.length = 8
    return c
