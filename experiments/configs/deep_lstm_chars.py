"""A deep (2-layer) LSTM language model on characters (the slide "Deep LSTM Models").

The text is the standard library's inspect.py (present wherever Python is); any UTF-8 file with
--config.data.path=FILE. Dropout between the layers.
Run:      lectarch train --config experiments/configs/deep_lstm_chars.py --workdir runs/deep_lstm_chars
Runtime:  27 minutes measured on a 2-core CPU shared with other heavy jobs (2000 steps of 32 x 128
          characters); less on an idle machine.
Expected: eval bits per character well below the unigram baseline (4.17 bits, logged as
          baseline_bits_per_token); measured: 1.54 bits per character, accuracy 0.73.
"""

from lectarch.config import base_config
from lectarch.data.text import default_config as text
from lectarch.models.recurrent import default_config as recurrent


def get_config():
    c = base_config()
    c.objective = "tokens"
    c.num_steps = 2000
    c.batch_size = 32
    c.eval_batch_size = 64
    c.learning_rate = 3e-3
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 500
    c.clip.global_norm = 1.0
    c.clip.elementwise = 0.0
    c.model = recurrent("lstm")
    c.model.family = "many_to_many"
    c.model.hidden = 128
    c.model.layers = 2
    c.model.dropout = 0.2
    c.model.embed_dim = 32
    c.data = text()
    c.data.seq_len = 128
    return c
