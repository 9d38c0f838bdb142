"""WMT translation through TFDS without TensorFlow, on tfds.testing.mock_data: tokenizer training and
caching, the element layout, and a short end-to-end training run that reports BLEU."""

import json
import sys

import numpy as np

from lectarch.cli import main
from lectarch.data import translation
from lectarch.experiment import train
from tests.helpers import config

MOCK = ("data.mock_examples=48", "data.vocab_size=48", "data.max_len=24", "data.decode_examples=8",
        "model.d_model=16", "model.d_ff=32", "model.num_heads=2", "model.num_encoder_layers=1",
        "model.num_decoder_layers=1", "model.dtype=float32", "num_steps=3", "batch_size=8",
        "eval_batch_size=8", "eval_every=3", "log_every=3", "checkpoint_every=3", "progress=false", "num_devices=1")


def test_mock_translation_trains_end_to_end_with_bleu(tmp_path, capsys):
    cfg = config("transformer_base_wmt14", *MOCK, f"data.tokenizer_dir={tmp_path / 'spm'}")
    result = train(cfg, tmp_path / "run")
    assert result.status == "finished" and np.isfinite(result.last_eval["loss"])
    assert 0.0 <= result.last_eval["bleu"] <= 100.0 and "sequence_accuracy" in result.last_eval
    assert any((tmp_path / "run" / "pictures").glob("attention_cross_layer0_step3.png"))
    assert "tensorflow" not in sys.modules
    # `lectarch decode` (its command line, in this process) restores the checkpoint and reports exact
    # match and BLEU; batches of 8 as in training's decode_metrics
    capsys.readouterr()
    assert main(["decode", "--workdir", str(tmp_path / "run"), "--examples", "8", "--show", "1",
                 "--batch-size", "8"]) == 0
    out = capsys.readouterr().out
    record = json.loads(out.strip().splitlines()[-1])
    assert out.count("decoded:") == 1  # --show 1
    assert record["step"] == 3 and record["examples"] == 8 and 0.0 <= record["bleu"] <= 100.0

    # The tokenizer was trained once and is reused; elements follow the Transformer's layout.
    [model_file] = (tmp_path / "spm").glob("*.model")
    stamp = model_file.stat().st_mtime_ns
    ds = translation.build(cfg.data, 0)
    assert model_file.stat().st_mtime_ns == stamp
    e = ds.eval[0]
    src, tgt_in, tgt = e["inputs"]["src"], e["inputs"]["tgt_in"], e["targets"]
    assert src.shape == tgt.shape == (24,) and tgt_in[0] == translation.BOS
    n = int(np.sum(tgt != translation.PAD))
    assert tgt[n - 1] == translation.EOS and list(tgt_in[1:n]) == list(tgt[: n - 1])
    np.testing.assert_array_equal(e["mask"], tgt != translation.PAD)
    # detokenize inverts the tokenizer (up to whitespace normalisation) on an eval sentence
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    text = "abc deff  ghij a"
    assert ds.detokenize(sp.encode(text)) == " ".join(text.split())
