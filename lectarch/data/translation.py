"""Machine translation from TFDS (``wmt14_translate/de-en``, ``wmt_t2t_translate/de-en``) without TensorFlow.

Sentence pairs come from ``tfds.data_source`` (random access to prepared array_record files; nothing
is downloaded at run time). One SentencePiece model, shared by source and target as the paper's
shared BPE vocabulary, is trained on ``tokenizer_sentences`` training pairs the first time and
cached (``tokenizer_dir``, by default ``~/.cache/lectarch/sentencepiece``; point it at the workdir
to keep it with the run). Token ids: 0 pad, 1 bos, 2 eos (``lectarch.data.sequences``), 3 unk.

Elements have the one sequence-to-sequence layout (``lectarch.data.sequences``):
``inputs = {"src": ids(source) eos, "tgt_in": bos ids(target)}``, ``targets = ids(target) eos``,
``mask = targets != pad``, each truncated/padded to ``max_len``.
The dataset's ``detokenize(ids) -> str`` lets evaluation compute BLEU with sacrebleu
(``lectarch.models.decoding.evaluate_decoding``).
"""

import hashlib
import os
import pathlib
import tempfile

import grain
import ml_collections
import numpy as np

from lectarch.config.rules import POSITIVE_INT, Range
from lectarch.data.sequences import BOS, EOS, FIRST_FREE_ID, PAD, make_element, seq2seq_spec
from lectarch.data.spec import Dataset
from lectarch.data.tfds_source import open_source

UNK = FIRST_FREE_ID

CONFIG_RULES = {
    "vocab_size": Range(8, integer=True),
    "max_len": Range(2, integer=True),
    "tokenizer_sentences": POSITIVE_INT,
    "decode_examples": Range(0, integer=True),
    "mock_examples": Range(0, integer=True),
}


def default_config(tfds_name: str = "wmt14_translate/de-en") -> ml_collections.ConfigDict:
    d = ml_collections.ConfigDict()
    d.name = "translation"
    d.tfds_name = tfds_name  # or "wmt_t2t_translate/de-en"
    d.source = "en"  # the paper translates English -> German
    d.target = "de"
    d.train_split = "train"
    d.eval_split = "validation"  # newstest2013; "test" is newstest2014
    d.data_dir = ""  # "": TFDS's default
    d.vocab_size = 37000  # the paper's shared source-target vocabulary
    d.max_len = 128  # tokens per side, eos / bos included (longer sentences are truncated)
    d.tokenizer_dir = ""  # "": ~/.cache/lectarch/sentencepiece
    d.tokenizer_sentences = 1_000_000  # training pairs the tokenizer is trained on (evenly spaced)
    d.decode_examples = 0  # eval sentences translated greedily at each eval for BLEU (0: off)
    d.mock_examples = 0  # > 0: tfds.testing.mock_data with this many random pairs per split (smoke tests)
    return d


def _text(x) -> str:
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def tokenizer_path(cfg: ml_collections.ConfigDict, num_train: int) -> pathlib.Path:
    """Where the tokenizer for this data and vocabulary lives (the name says what it was trained on)."""
    folder = pathlib.Path(cfg.tokenizer_dir or os.path.expanduser("~/.cache/lectarch/sentencepiece"))
    key = f"{cfg.tfds_name}|{cfg.data_dir}|{cfg.train_split}|{num_train}|{cfg.source}|{cfg.target}|{cfg.tokenizer_sentences}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return folder / f"{cfg.tfds_name.replace('/', '_')}_{cfg.source}{cfg.target}_v{cfg.vocab_size}_{digest}.model"


def train_tokenizer(records, cfg: ml_collections.ConfigDict, path: pathlib.Path) -> pathlib.Path:
    """Train SentencePiece on both sides of up to ``tokenizer_sentences`` evenly spaced pairs."""
    import sentencepiece as spm

    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(records)
    rows = np.unique(np.linspace(0, n - 1, min(n, cfg.tokenizer_sentences)).astype(np.int64))
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        text = pathlib.Path(tmp) / "sentences.txt"
        with text.open("w", encoding="utf-8") as f:
            for i in rows:
                r = records[int(i)]
                for side in (cfg.source, cfg.target):
                    line = _text(r[side]).replace("\n", " ").strip()
                    if line:
                        f.write(line + "\n")
        prefix = pathlib.Path(tmp) / "spm"
        spm.SentencePieceTrainer.train(
            input=str(text), model_prefix=str(prefix), vocab_size=cfg.vocab_size, model_type="unigram",
            character_coverage=1.0, pad_id=PAD, bos_id=BOS, eos_id=EOS, unk_id=UNK,
            hard_vocab_limit=False, input_sentence_size=max(2 * len(rows), 101), shuffle_input_sentence=True,
            minloglevel=2)
        os.replace(f"{prefix}.model", path)  # atomic: a half-written tokenizer is never cached
    return path


def load_tokenizer(records, cfg: ml_collections.ConfigDict):
    import sentencepiece as spm

    path = tokenizer_path(cfg, len(records))
    if not path.exists():
        train_tokenizer(records, cfg, path)
    return spm.SentencePieceProcessor(model_file=str(path)), path


def _mock(num_examples: int):
    import contextlib

    import tensorflow_datasets as tfds

    if not num_examples:
        return contextlib.nullcontext()
    return tfds.testing.mock_data(num_examples=num_examples, policy=tfds.testing.MockPolicy.USE_CODE)


def build(cfg: ml_collections.ConfigDict, seed: int) -> Dataset:
    del seed
    import tensorflow_datasets.translate  # noqa: F401 - registers the WMT builders

    with _mock(cfg.get("mock_examples", 0)):
        train_src = open_source(cfg.tfds_name, cfg.train_split, cfg.data_dir)
        eval_src = open_source(cfg.tfds_name, cfg.eval_split, cfg.data_dir)
    sp, _ = load_tokenizer(train_src, cfg)
    vocab = int(sp.get_piece_size())

    def encode(record):
        return make_element(sp.encode(_text(record[cfg.source])), sp.encode(_text(record[cfg.target])), cfg.max_len)

    spec = seq2seq_spec(vocab, cfg.max_len)
    return Dataset(spec=spec, train=grain.MapDataset.source(train_src).map(encode),
                   eval=grain.MapDataset.source(eval_src).map(encode), name=cfg.tfds_name,
                   detokenize=lambda ids: sp.decode([int(i) for i in ids]), decode_examples=cfg.decode_examples)
