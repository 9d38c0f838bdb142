"""The one sequence-to-sequence layout, shared by the toy tasks, translation and every encoder-decoder."""

import numpy as np

from lectarch.data import seq2seq_tasks, translation
from lectarch.data.sequences import make_element

PAD, BOS, EOS = 0, 1, 2  # the ids the layout documents (not lectarch's constants: this checks them)


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


def test_toy_tasks_and_translation_share_the_token_ids_and_the_spec(tmp_path):
    """0 pad, 1 bos, 2 eos and symbols from 3, read off a toy task's elements and off the tokenizer
    SentencePiece trains for translation (not off lectarch's own constants)."""
    cfg = seq2seq_tasks.default_config("reverse")
    cfg.train_size, cfg.eval_size = 4, 4
    ds = seq2seq_tasks.build(cfg, 0)
    width, vocab = cfg.max_len + 1, cfg.vocab_size + 3
    assert (ds.spec.input_shape, ds.spec.num_outputs, ds.spec.input_vocab, ds.spec.max_len) == ((width,), vocab, vocab,
                                                                                                width)
    assert (ds.spec.tokens.pad, ds.spec.tokens.bos, ds.spec.tokens.eos) == (0, 1, 2)
    for i in range(4):
        e = ds.train[i]
        src = np.asarray(e["inputs"]["src"])
        n = int(np.argmax(src == 2))  # the source's eos
        symbols, rest = src[:n], width - n - 1
        assert n >= 1 and symbols.min() >= 3 and symbols.max() < vocab and not np.any(src[n + 1:])
        np.testing.assert_array_equal(e["inputs"]["tgt_in"], np.r_[1, symbols[::-1], np.zeros(rest)])
        np.testing.assert_array_equal(e["targets"], np.r_[symbols[::-1], 2, np.zeros(rest)])
        np.testing.assert_array_equal(e["mask"], np.r_[np.ones(n + 1), np.zeros(rest)])

    import sentencepiece as spm

    data = translation.default_config()
    data.vocab_size, data.tokenizer_sentences = 40, 50
    words = "the a cat dog sat ran on under mat tree der die das katze hund sass lief auf unter baum".split()
    rng = np.random.default_rng(0)
    records = [{side: " ".join(rng.choice(words, 6)) for side in (data.source, data.target)} for _ in range(50)]
    model = translation.train_tokenizer(records, data, tmp_path / "spm.model")
    sp = spm.SentencePieceProcessor(model_file=str(model))
    assert (sp.pad_id(), sp.bos_id(), sp.eos_id()) == (0, 1, 2)
    assert [sp.id_to_piece(i) for i in (0, 1, 2)] == ["<pad>", "<s>", "</s>"]
