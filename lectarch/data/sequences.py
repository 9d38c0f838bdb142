"""The one layout of every sequence-to-sequence dataset (toy tasks, translation) and its tokens.

Token ids: 0 ``pad``, 1 ``bos``, 2 ``eos`` (``TOKENS``); a dataset's own tokens start at 3. For a
source ``s_1 .. s_n`` and a target ``y_1 .. y_m``, every row padded (or cut) to ``width``:

    inputs  = {"src": [s_1 .. s_n eos pad ..], "tgt_in": [bos y_1 .. y_m pad ..]}
    targets = [y_1 .. y_m eos pad ..],   mask = (targets != pad)

(``tgt_in`` is the target shifted right, as in figure 1's "outputs (shifted right)"). A model
finds the source length from the padding (``src != pad``); the ids are in the data spec
(``DataSpec.tokens``), so a model never hard-codes them.
"""

from collections.abc import Sequence

import numpy as np

from lectarch.data.spec import DataSpec, TokenIds

TOKENS = TokenIds(pad=0, bos=1, eos=2)
PAD, BOS, EOS = TOKENS.pad, TOKENS.bos, TOKENS.eos
FIRST_FREE_ID = 3  # the first id a dataset may give its own tokens


def make_element(src_ids: Sequence[int], tgt_ids: Sequence[int], width: int) -> dict:
    """One element of the layout above; a sequence longer than ``width - 1`` tokens is cut."""
    src = list(src_ids[: width - 1]) + [EOS]
    tgt = list(tgt_ids[: width - 1])
    pad = lambda xs: np.array(xs + [PAD] * (width - len(xs)), np.int32)  # noqa: E731
    targets = pad(tgt + [EOS])
    return {"inputs": {"src": pad(src), "tgt_in": pad([BOS] + tgt)}, "targets": targets,
            "mask": (targets != PAD).astype(np.float32)}


def seq2seq_spec(vocab: int, width: int, source_vocab: int | None = None) -> DataSpec:
    """The spec of a sequence-to-sequence dataset: ``vocab`` target tokens (and ``source_vocab``
    source tokens; the same vocabulary by default), rows of ``width`` tokens."""
    return DataSpec(input_shape=(width,), num_outputs=vocab, input_vocab=source_vocab or vocab,
                    max_len=width, tokens=TOKENS)
