"""What a model can do beyond ``model(inputs, train=..., rngs=...) -> outputs``, declared as protocols.

The trainer and the command-line programs ask a built model ``isinstance(model, Capability)``
(the protocols are ``runtime_checkable``) and use the capability when it is there; a model gains
one by having the methods (and attributes) below, nothing is registered. Every built-in model and
a user's own model are asked the same way.

    Pictures          ``model.pictures(inputs)``: named pictures of the first example (``Picture``
                      data of ``lectarch.viz.picture``; lectarch draws them), written to ``pictures/``
                      and TensorBoard at each eval and by ``lectarch visualize``
    DecodeMetrics     ``model.decode_metrics(dataset, batch_size)``: metrics that feed the model's
                      own outputs back (e.g. exact match of greedy decoding), added to each eval
    Seq2SeqDecoder    encode once, decode step by step with a key/value cache: what greedy and
                      beam search (``lectarch.models.decoding``) and ``lectarch decode`` need
    ReceptiveFields   ``model.receptive_field_layers()``, ``receptive_field_maps(x)``,
                      ``receptive_field_dims``, ``receptive_field_channels``: the geometry and the
                      outputs of every convolution and pooling, for ``lectarch receptive-field``
    StatePerturbations  ``model(inputs, perturbations=...)`` and ``model.zero_perturbations(inputs)``:
                      additive perturbations of the hidden state at every step, whose gradients
                      are dL/dh_t (``lectarch gradflow``'s time probe)

``call_contract_problem(model)`` checks, without calling it, the one thing every model keeps: it
is an ``nnx.Module`` called as ``model(inputs, train=..., rngs=...)`` (``lectarch.models.CONTRACT``
asks it of every built model, so a plug-in that breaks it is one line naming the contract).
"""

import inspect
from typing import Any, Protocol, runtime_checkable

import jax


@runtime_checkable
class Pictures(Protocol):
    def pictures(self, inputs: Any) -> dict[str, Any]:
        """``{name: Picture}`` for the first example of ``inputs``, built with ``lectarch.viz.picture``'s
        helpers (``heatmaps``, ``tiles``, ``image``); a bare H x W (x 3) array in [0, 1] is drawn too."""
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
    """A stack of convolutions and poolings whose receptive fields are computed and measured.

    ``receptive_field_dims``: 1 (signals, ``B x T x C``) or 2 (images, ``B x H x W x C``, square
    layers: every ``Layer`` holds for both axes); ``receptive_field_channels``: ``C`` of the stack's
    input; ``receptive_field_maps(x)``: for such an input (floats, already embedded), the output of
    every layer of ``receptive_field_layers()``, one array per layer, in that order (what
    ``lectarch receptive-field --check`` differentiates). A layer's padding may be a number, a
    ``(before, after)`` pair or a mode, ``"SAME"``/``"VALID"``/``"CAUSAL"``.
    """

    receptive_field_dims: int
    receptive_field_channels: int

    def receptive_field_layers(self) -> list:
        """``lectarch.ops.receptive_field.Layer`` of every convolution and pooling, input to output."""
        ...

    def receptive_field_maps(self, x: jax.Array) -> list[jax.Array]:
        """Every layer's output for ``x`` (``B x T x C`` or ``B x H x W x C``), one per ``receptive_field_layers()``."""
        ...


@runtime_checkable
class StatePerturbations(Protocol):
    def zero_perturbations(self, inputs: Any) -> dict[str, jax.Array]:
        """Zeros for every perturbation the model takes on ``inputs`` (``"<layer>.<state>": T x B x H``)."""
        ...


def call_contract_problem(model: Any) -> str | None:
    """What keeps ``model`` from the contract every model keeps, ``model(inputs, *, train, rngs)``
    returning outputs (``None``: nothing), found without calling it."""
    from flax import nnx

    if not isinstance(model, nnx.Module):
        return f"it returned {type(model).__name__}, not an nnx.Module"
    call = getattr(type(model), "__call__", None)
    if call is None or call is object.__call__:
        return f"{type(model).__name__} has no __call__(inputs, *, train, rngs)"
    try:
        params = inspect.signature(call).parameters
    except (TypeError, ValueError):
        return None
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    missing = [k for k in ("train", "rngs") if k not in params and not takes_any]
    if missing:
        where = _where(call)
        return (f"{type(model).__name__}.__call__{inspect.signature(call)} ({where}) takes no "
                f"{' and no '.join(f'{k}=' for k in missing)} keyword: every model is called as "
                f"model(inputs, train=..., rngs=...)")
    return None


def _where(fn) -> str:
    try:
        return f"{inspect.getsourcefile(fn)}:{inspect.getsourcelines(fn)[1]}"
    except (OSError, TypeError):
        return "?"


__all__ = ["DecodeMetrics", "Pictures", "ReceptiveFields", "Seq2SeqDecoder", "StatePerturbations",
           "call_contract_problem"]
