"""The Transformer base model on WMT 2014 English -> German (Vaswani et al. 2017, table 3 "base").

Needs the prepared TFDS dataset (no download at run time): on a machine with internet access
`tfds build wmt14_translate/de-en --file_format=array_record`, then copy the folder and pass
--config.data.data_dir=DIR (or set $TFDS_DATA_DIR). The SentencePiece vocabulary (37000 pieces,
shared by source, target and the pre-softmax layer) is trained on first use and cached in
config.data.tokenizer_dir (default ~/.cache/lectarch/sentencepiece).

Run:      lectarch train --config experiments/configs/transformer_base_wmt14.py --workdir runs/wmt14_base
          lectarch decode --workdir runs/wmt14_base --beam 4 --alpha 0.6     # BLEU on newstest2013
          (wmt_t2t: --config.data.tfds_name=wmt_t2t_translate/de-en)
Runtime:  the paper: 100k steps, 12 h on 8 P100 GPUs with ~25k source + 25k target tokens per
          batch. Here batch_size sentences of <= 128 tokens per step; not runnable on a CPU.
Expected: the paper reports 27.3 BLEU (newstest2014, beam 4, alpha 0.6, checkpoint averaging);
          not measured yet (needs the prepared data and an accelerator: the two commands above).
Smoke test on random mock data (tfds.testing.mock_data), end to end on a CPU in about a minute:
          lectarch train --config experiments/configs/transformer_base_wmt14.py --workdir /tmp/wmt_mock \
            --config.data.mock_examples=64 --config.data.vocab_size=64 --config.data.max_len=32 \
            --config.data.tokenizer_dir=/tmp/wmt_mock --config.data.decode_examples=16 \
            --config.num_steps=20 --config.batch_size=16 --config.eval_batch_size=16 --config.eval_every=20 \
            --config.model.d_model=32 --config.model.d_ff=64 --config.model.num_heads=2 \
            --config.model.num_encoder_layers=1 --config.model.num_decoder_layers=1 --config.model.dtype=float32
          (tests/data/test_translation.py runs the same through lectarch.experiment.train.)
"""

from lectarch.config import base_config
from lectarch.data.translation import default_config as translation
from lectarch.models.transformer import base_config as transformer_base


def get_config():
    c = base_config()
    c.num_steps = 100_000
    c.batch_size = 256
    c.eval_batch_size = 256
    c.log_every = 100
    c.eval_every = 5000
    c.checkpoint_every = 5000
    c.label_smoothing = 0.1  # epsilon_ls
    # Adam(beta1 0.9, beta2 0.98, eps 1e-9); lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5),
    # i.e. schedule "inverse_sqrt" with peak learning_rate = (d_model * warmup)^-0.5 at step = warmup.
    c.optimizer.name = "adam"
    c.optimizer.b1, c.optimizer.b2, c.optimizer.eps = 0.9, 0.98, 1e-9
    c.schedule.name = "inverse_sqrt"
    c.schedule.warmup_steps = 4000
    c.learning_rate = (512 * 4000) ** -0.5
    c.model = transformer_base()
    c.model.dtype = "bfloat16"
    c.data = translation("wmt14_translate/de-en")
    c.data.decode_examples = 512
    return c
