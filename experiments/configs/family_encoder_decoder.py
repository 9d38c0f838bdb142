"""Many-to-many encoder-decoder: the LSTM reverses a sequence of 8 symbols.

The encoder's final states (c, h per layer) start the decoder, which reads the target shifted
right (teacher forcing) and emits the reversed source, then ``eos``. The data are the Transformer's
reverse task (``lectarch.data.seq2seq_tasks``, one sequence layout for every encoder-decoder).
Run:      lectarch train --config experiments/configs/family_encoder_decoder.py --workdir runs/family_encdec
Runtime:  about 1.5 minutes on a 2-core CPU (1500 steps).
Expected: test (teacher-forced) accuracy well above the baseline 1/8; measured value in
          experiments/results/recurrent/family.md.
"""

from lectarch.config import base_config
from lectarch.data.seq2seq_tasks import default_config as seq2seq_tasks
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
    c.data = seq2seq_tasks("reverse")
    c.data.vocab_size = 8
    c.data.min_len = c.data.max_len = 8
    c.data.decode_examples = 0  # the recurrent encoder-decoder is scored teacher-forced only
    return c
