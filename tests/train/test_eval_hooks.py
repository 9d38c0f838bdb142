"""The eval hooks (pictures, decoding metrics) are model capabilities, and share one host copy."""

import sys

import jax

from lectarch.experiment import train
from lectarch.train import loop
from lectarch.train.state import TrainState
from tests.helpers import config


def test_each_eval_copies_the_state_to_the_host_once_for_decoding_and_pictures(tmp_path, monkeypatch):
    # How often the loop copies the state depends neither on the device count nor on the layers: one
    # of the 8 devices, and no encoder layer (the decoder's layer still draws its cross-attention).
    cfg = config("transformer_copy", "progress=false", "num_devices=1", "num_steps=2", "log_every=1", "eval_every=1",
                 "checkpoint_every=2", "batch_size=8", "eval_batch_size=8", "model.d_model=16", "model.num_heads=2",
                 "model.d_ff=32", "model.num_encoder_layers=0", "model.num_decoder_layers=1",
                 "data.eval_size=8", "data.decode_examples=8", "data.max_len=4")
    copies = []
    device_get = jax.device_get

    def counting_device_get(x):
        if isinstance(x, TrainState) and sys._getframe(1).f_code.co_filename == loop.__file__:
            copies.append(1)  # the loop's copies (a checkpoint's own copy is not an eval's)
        return device_get(x)

    monkeypatch.setattr(jax, "device_get", counting_device_get)
    result = train(cfg, tmp_path)
    assert result.status == "finished"
    assert "sequence_accuracy" in result.last_eval  # the DecodeMetrics capability ran at each eval
    assert sorted(p.name for p in (tmp_path / "pictures").glob("attention_cross_layer0*")) == [  # so did Pictures
        "attention_cross_layer0_step1.png", "attention_cross_layer0_step2.png"]
    assert len(copies) == 2  # two evals, one copy each (it was two per eval)
