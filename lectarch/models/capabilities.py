"""What a model can do beyond ``model(inputs, train=..., rngs=...) -> outputs``, declared as protocols.

The trainer and the command-line programs ask a built model ``isinstance(model, Capability)``
(the protocols are ``runtime_checkable``) and use the capability when it is there; a model gains
one by having the methods (and attributes) below, nothing is registered. Every built-in model and
a user's own model are asked the same way.

    Pictures          ``model.pictures(inputs)``: named images of the first example, written to
                      ``pictures/`` and TensorBoard at each eval and by ``lectarch visualize``
    DecodeMetrics     ``model.decode_metrics(dataset, batch_size)``: metrics that feed the model's
                      own outputs back (e.g. exact match of greedy decoding), added to each eval
    Seq2SeqDecoder    encode once, decode step by step with a key/value cache: what greedy and
                      beam search (``lectarch.models.decoding``) and ``lectarch decode`` need
    ReceptiveFields   ``model.receptive_field_layers()``: the geometry of every convolution and
                      pooling, for ``lectarch receptive-field``
    StatePerturbations  ``model(inputs, perturbations=...)`` and ``model.zero_perturbations(inputs)``:
                      additive perturbations of the hidden state at every step, whose gradients
                      are dL/dh_t (``lectarch gradflow``'s time probe)
"""

from typing import Any, Protocol, runtime_checkable

import jax
import numpy as np


@runtime_checkable
class Pictures(Protocol):
    def pictures(self, inputs: Any) -> dict[str, np.ndarray]:
        """Images (H x W grey or H x W x 3, values in [0, 1]) for the first example of ``inputs``."""
        ...


@runtime_checkable
class DecodeMetrics(Protocol):
    def decode_metrics(self, dataset: Any, batch_size: int) -> dict[str, float]:
        """Metrics of the model's own generated outputs on ``dataset``'s eval split ({} for none)."""
        ...


@runtime_checkable
class Seq2SeqDecoder(Protocol):
    pad_id: int
    bos_id: int
    eos_id: int
    max_len: int
    tgt_vocab: int

    def encode(self, src_BxS: jax.Array, *, return_weights: bool = False) -> tuple:
        """``(memory, source lengths, attention weights or None)``."""
        ...

    def memories(self, memory: jax.Array) -> Any:
        """What every decoder layer reads of the encoder output (computed once per source)."""
        ...

    def init_caches(self, batch: int, max_len: int) -> Any:
        """Empty key/value caches for ``batch`` rows of up to ``max_len`` positions."""
        ...

    def decode(self, tgt_BxT: jax.Array, memories: Any, lengths_B: jax.Array, **kw) -> tuple:
        """``(logits BxTxV, caches, attention weights or None)``."""
        ...


@runtime_checkable
class ReceptiveFields(Protocol):
    def receptive_field_layers(self) -> list:
        """``lectarch.ops.receptive_field.Layer`` of every convolution and pooling, input to output."""
        ...


@runtime_checkable
class StatePerturbations(Protocol):
    def zero_perturbations(self, inputs: Any) -> dict[str, jax.Array]:
        """Zeros for every perturbation the model takes on ``inputs`` (``"<layer>.<state>": T x B x H``)."""
        ...


__all__ = ["DecodeMetrics", "Pictures", "ReceptiveFields", "Seq2SeqDecoder", "StatePerturbations"]
