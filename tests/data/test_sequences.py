"""The one sequence-to-sequence layout, shared by the toy tasks, translation and every encoder-decoder."""

import numpy as np

from lectarch.data import seq2seq_tasks, translation
from lectarch.data.sequences import BOS, EOS, PAD, TOKENS, make_element, seq2seq_spec


def test_the_layout_spelled_out():
    e = make_element([7, 8, 9], [9, 8, 7], width=6)
    np.testing.assert_array_equal(e["inputs"]["src"], [7, 8, 9, EOS, PAD, PAD])
    np.testing.assert_array_equal(e["inputs"]["tgt_in"], [BOS, 9, 8, 7, PAD, PAD])
    np.testing.assert_array_equal(e["targets"], [9, 8, 7, EOS, PAD, PAD])
    np.testing.assert_array_equal(e["mask"], [1, 1, 1, 1, 0, 0])


def test_too_long_sequences_are_cut_and_still_end_in_eos():
    e = make_element(list(range(3, 13)), list(range(3, 13)), width=4)
    np.testing.assert_array_equal(e["inputs"]["src"], [3, 4, 5, EOS])
    np.testing.assert_array_equal(e["inputs"]["tgt_in"], [BOS, 3, 4, 5])
    np.testing.assert_array_equal(e["targets"], [3, 4, 5, EOS])


def test_toy_tasks_and_translation_share_the_token_ids_and_the_spec():
    assert (seq2seq_tasks.PAD, seq2seq_tasks.BOS, seq2seq_tasks.EOS) == (translation.PAD, translation.BOS,
                                                                      translation.EOS) == (0, 1, 2)
    cfg = seq2seq_tasks.default_config("reverse")
    cfg.train_size, cfg.eval_size = 4, 4
    ds = seq2seq_tasks.build(cfg, 0)
    assert ds.spec == seq2seq_spec(cfg.vocab_size + 3, cfg.max_len + 1)
    assert ds.spec.tokens == TOKENS and ds.spec.input_vocab == ds.spec.num_outputs == cfg.vocab_size + 3
    assert ds.decode_examples == cfg.decode_examples
