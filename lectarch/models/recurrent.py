"""Recurrent networks: layers, deep stacks and the RNN family of the lecture, as one model.

Registered as ``rnn`` and ``lstm`` (one module). ``model.cell`` picks the cell: ``"elman"`` (the
Elman RNN, ``model.activation``) or ``"lstm"`` (the peephole LSTM or a Greff et al. variant,
``model.variant``); ``default_config("rnn")`` starts with ``"elman"``, ``default_config("lstm")``
with ``"lstm"``, and only the key decides. ``model.family`` picks the head (the slide "The RNN family"):

    one_to_one       x (B, D)                    -> one step            -> (B, C)
    one_to_many      x (B, D)  fed at step 1     -> T_out steps         -> (B, T_out, C)
    many_to_one      x (B, T, .)                 -> last state          -> (B, C)
    many_to_many     x (B, T, .)                 -> a dense at every t  -> (B, T, C)    (aligned)
    encoder_decoder  {"src": (B, S), "tgt_in": (B, T)}: the encoder's final states (after the last
                     non-padding source token) start the decoder, which reads
                     the target shifted right                             -> (B, T, C)

Inputs are features ``(B, T, F)`` or tokens ``(B, T)`` (embedded when the data spec names an
``input_vocab``); a dict ``{"x": ..., "mask": (B, T)}`` carries a variable-length batch. The
encoder-decoder reads the one sequence-to-sequence layout (``lectarch.data.sequences``).
``model.layers`` stacks layers (the slide "Deep LSTM Models"): layer l reads the output sequence
of layer l-1, with dropout ``model.dropout`` between layers; ``model.bidirectional`` adds a
right-to-left pass whose outputs are concatenated.

``model.dtype`` is the dtype of the matmuls (carries, gates and parameters stay float32;
``lectarch.models.dtypes``), ``model.remat`` recomputes each layer in the backward pass
(``lectarch.models.remat``), and ``model.recurrent_spectral_radius`` > 0 initialises every gate's
``H x H`` block of R as an orthogonal matrix times that radius (0: orthogonal, radius 1; the
lecture's exploding gradients need a radius above 1 in a tanh RNN).

Perturbations for gradient-flow probes: ``model(inputs, perturbations={...})`` adds, for each key
``"<layer>.<carry key>"`` (``"0.h"``, ``"0.c"``, ``"1.h"``, ``"0.reverse.h"``; prefixed with
``"encoder."`` / ``"decoder."`` in the encoder-decoder), a time-major ``T x B x H`` array to that
layer's state right after each step (see ``lectarch.models.scan``). ``model.zero_perturbations
(inputs)`` gives all of them as zeros; the gradient of the loss with respect to them is
``dL/dh_t`` (``dL/dc_t``) for every layer and step. ``None`` (the default) changes nothing.
"""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx

from lectarch.config import ConfigError
from lectarch.config.rules import NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE_INT, PROBABILITY, OneOf, Range
from lectarch.data.spec import DataSpec
from lectarch.models.cells import VARIANTS, Carry, Cell, ElmanCell, LSTMCell
from lectarch.models.dtypes import DTYPES, RENAMED, compute_dtype, state_dtype
from lectarch.models.remat import REMAT, remat
from lectarch.models.scan import BPTT, PROJECTIONS, scan

FAMILIES = ("one_to_one", "one_to_many", "many_to_one", "many_to_many", "encoder_decoder")
CELLS = ("elman", "lstm")

CONFIG_RULES = {
    "cell": OneOf(CELLS),
    "family": OneOf(FAMILIES),
    "hidden": POSITIVE_INT,
    "layers": POSITIVE_INT,
    "bidirectional": OneOf((True, False)),
    "dropout": PROBABILITY,
    "variant": OneOf(VARIANTS),
    "forget_bias": Range(-10, 10),
    "activation": OneOf(("tanh", "relu")),
    "embed_dim": POSITIVE_INT,
    "unroll": POSITIVE_INT,
    "projection": OneOf(PROJECTIONS),
    "dtype": OneOf(tuple(DTYPES)),
    "remat": OneOf(REMAT),
    "recurrent_spectral_radius": NON_NEGATIVE,
    "bptt": OneOf(BPTT),
    "output_length": NON_NEGATIVE_INT,
    **RENAMED,
}


def default_config(name: str = "lstm") -> ml_collections.ConfigDict:
    """The defaults under ``model.name = name`` ("rnn" or "lstm"), with ``model.cell`` "elman" for
    "rnn" and "lstm" otherwise; afterwards only ``model.cell`` picks the cell."""
    m = ml_collections.ConfigDict()
    m.name = name
    m.cell = {"rnn": "elman"}.get(name, "lstm")  # elman | lstm
    m.family = "many_to_one"
    m.hidden = 128
    m.layers = 1
    m.bidirectional = False
    m.dropout = 0.0  # between stacked layers
    m.variant = "full"  # cell lstm only: full | NIG | NFG | NOG | NIAF | NOAF | NP | CIFG | FGR
    m.forget_bias = 1.0  # cell lstm only: initial forget-gate bias b_f
    m.activation = "tanh"  # cell elman only: tanh | relu
    m.recurrent_spectral_radius = 0.0  # > 0: R's blocks start as orthogonal x this radius; 0: orthogonal
    m.embed_dim = 32  # token inputs
    m.unroll = 1  # lax.scan unroll
    m.projection = "auto"  # W x_t + b: hoisted out of the scan, inside the step, auto (per backend)
    m.dtype = "float32"  # matmuls: float32 | bfloat16 (carries, gates and parameters stay f32)
    m.remat = "none"  # none | block | block_save_dots: recompute each layer in the backward pass
    m.bptt = "explicit"  # explicit: hand-written BPTT, weight gradients as one matmul; autodiff: jax.grad of the scan
    m.output_length = 0  # one_to_many: steps to emit (0: from the data spec)
    return m


def validate_config(cfg: ml_collections.ConfigDict) -> None:
    m = cfg.model
    if m.get("cell", "lstm") == "elman" and (m.variant != "full"):
        raise ConfigError(f"config.model.variant={m.variant!r} applies to the LSTM only (model.cell='elman')")
    if m.bidirectional and m.family in ("one_to_many", "encoder_decoder"):
        raise ConfigError(f"config.model.bidirectional=True is not allowed with family {m.family!r}: "
                          "a generator cannot read its future")


def make_cell(m: ml_collections.ConfigDict) -> Cell:
    """The cell ``model.cell`` names, with its hyperparameters from ``model``."""
    kw = dict(dtype=m.get("dtype", "float32"), spectral_radius=float(m.get("recurrent_spectral_radius", 0.0)))
    if "cell" not in m:
        raise ConfigError("config.model has no key 'cell' (a config from before model.cell existed): set "
                          "config.model.cell = 'elman' or 'lstm' in its config file")
    if m.cell == "elman":
        return ElmanCell(m.hidden, activation=m.activation, **kw)
    return LSTMCell(m.hidden, variant=m.variant, forget_bias=m.forget_bias, **kw)


class RecurrentLayer(nnx.Module):
    """One cell's parameters (W, R, b, peepholes ...) and its scan over a time-major sequence."""

    def __init__(self, cell: Cell, in_features: int, *, unroll: int, projection: str, bptt: str, rngs: nnx.Rngs):
        params = cell.init_params(rngs.params(), in_features)
        self.names = tuple(params)
        for name, value in params.items():
            setattr(self, name, nnx.Param(value))
        self.cell, self.unroll, self.projection, self.bptt = cell, unroll, projection, bptt

    def params(self) -> dict[str, jax.Array]:
        return {name: getattr(self, name)[...] for name in self.names}

    def __call__(self, x_TxBxD: jax.Array, *, carry0: Carry | None = None, mask_TxB: jax.Array | None = None,
                 perturbations: dict | None = None, reverse: bool = False) -> tuple[Carry, jax.Array]:
        return scan(self.cell, self.params(), x_TxBxD, carry0=carry0, mask_TxB=mask_TxB,
                    perturbations=perturbations, reverse=reverse, unroll=self.unroll, projection=self.projection,
                    bptt=self.bptt)


def _sub(perturbations: dict | None, prefix: str) -> dict | None:
    if not perturbations:
        return None
    return {k[len(prefix):]: v for k, v in perturbations.items() if k.startswith(prefix)} or None


def _layer_call(reverse: bool):
    """``(layer, x, carry0, mask, perturbations) -> layer(...)`` in one direction (what remat wraps)."""
    def call(layer: RecurrentLayer, x_TxBxD, carry0, mask_TxB, perturbations):
        return layer(x_TxBxD, carry0=carry0, mask_TxB=mask_TxB, perturbations=perturbations, reverse=reverse)

    return call


class DeepRecurrent(nnx.Module):
    """Stacked layers (the slide "Deep LSTM Models"), optionally bidirectional, dropout between layers."""

    def __init__(self, cell: Cell, in_features: int, *, layers: int, bidirectional: bool, dropout: float,
                 unroll: int, projection: str, bptt: str, remat: str = "none", rngs: nnx.Rngs):
        width = cell.hidden * (2 if bidirectional else 1)
        sizes = [in_features] + [width] * (layers - 1)
        kw = dict(unroll=unroll, projection=projection, bptt=bptt, rngs=rngs)
        self.forward = nnx.List([RecurrentLayer(cell, d, **kw) for d in sizes])
        self.backward = nnx.List([RecurrentLayer(cell, d, **kw) for d in sizes]) if bidirectional else None
        self.dropout = nnx.Dropout(dropout)
        self.cell, self.out_features, self.remat = cell, width, remat

    def __call__(self, x_TxBxD: jax.Array, *, carries0: list[Carry] | None = None, mask_TxB: jax.Array | None = None,
                 perturbations: dict | None = None, train: bool = False,
                 rngs: nnx.Rngs | None = None) -> tuple[list[Carry], jax.Array]:
        """Final carries per layer (the left-to-right pass; right-to-left under ``"reverse"``) and
        the last layer's outputs ``y_TxBxH`` (``2H`` when bidirectional)."""
        h_TxBxD, finals = x_TxBxD, []
        run_forward, run_backward = (remat(_layer_call(reverse), self.remat) for reverse in (False, True))
        for l, layer in enumerate(self.forward):
            if l > 0:
                h_TxBxD = self.dropout(h_TxBxD, deterministic=not train, rngs=rngs)
            mine = _sub(perturbations, f"{l}.") or {}
            carry, y_TxBxH = run_forward(layer, h_TxBxD, None if carries0 is None else carries0[l], mask_TxB,
                                         {k: v for k, v in mine.items() if not k.startswith("reverse.")})
            if self.backward is not None:
                carry_r, y_r_TxBxH = run_backward(self.backward[l], h_TxBxD, None, mask_TxB,
                                                  _sub(perturbations, f"{l}.reverse."))
                carry = dict(carry, reverse=carry_r)
                y_TxBxH = jnp.concatenate([y_TxBxH, y_r_TxBxH], axis=-1)
            finals.append(carry)
            h_TxBxD = y_TxBxH
        return finals, h_TxBxD

    def zero_perturbations(self, T: int, B: int, prefix: str = "") -> dict[str, jax.Array]:
        template = jax.eval_shape(lambda: self.cell.init_carry(B))
        out = {}
        for l in range(len(self.forward)):
            for direction in ([""] if self.backward is None else ["", "reverse."]):
                for k, s in template.items():
                    out[f"{prefix}{l}.{direction}{k}"] = jnp.zeros((T,) + s.shape, s.dtype)
        return out


def _last_state(carry: Carry) -> jax.Array:
    """The top layer's final h (both directions when bidirectional): what many-to-one reads."""
    h = carry["h"]
    return jnp.concatenate([h, carry["reverse"]["h"]], axis=-1) if "reverse" in carry else h


class RecurrentNetwork(nnx.Module):
    """Embedding (tokens) or features -> deep recurrent stack(s) -> dense head of the chosen family."""

    def __init__(self, cell: Cell, spec: DataSpec, *, family: str, layers: int, bidirectional: bool,
                 dropout: float, embed_dim: int, unroll: int, projection: str, output_length: int,
                 bptt: str = "explicit", remat: str = "none", rngs: nnx.Rngs):
        self.family, self.dtype = family, cell.dtype
        stack = dict(layers=layers, bidirectional=bidirectional, dropout=dropout, unroll=unroll,
                     projection=projection, bptt=bptt, remat=remat, rngs=rngs)
        if family == "encoder_decoder":
            if spec.tokens is None or spec.input_vocab is None:
                raise ConfigError("config.model.family='encoder_decoder' needs sequence-to-sequence data "
                                  "(e.g. config.data.name='seq2seq_tasks')")
            self.pad_id = spec.tokens.pad
            self.src_embed = nnx.Embed(spec.input_vocab, embed_dim, rngs=rngs)
            self.tgt_embed = nnx.Embed(spec.num_outputs, embed_dim, rngs=rngs)
            self.encoder = DeepRecurrent(cell, embed_dim, **stack)
            self.decoder = DeepRecurrent(cell, embed_dim, **stack)
            top = self.decoder
        else:
            vocab = spec.input_vocab
            self.embed = nnx.Embed(vocab, embed_dim, rngs=rngs) if vocab else None
            in_features = embed_dim if vocab else spec.input_shape[-1]
            self.stack = DeepRecurrent(cell, in_features, **stack)
            top = self.stack
        self.output_length = output_length or spec.output_length or 0
        if family == "one_to_many" and self.output_length < 1:
            raise ConfigError("one_to_many needs config.model.output_length >= 1 or a data spec with output_length")
        self.head = nnx.Linear(top.out_features, spec.num_outputs, dtype=compute_dtype(cell.dtype), rngs=rngs)

    def features(self, inputs) -> tuple[jax.Array, jax.Array | None]:
        """Time-major features ``x_TxBxD`` (embedded tokens) and the mask ``mask_TxB`` (or None)."""
        x, mask = (inputs["x"], inputs.get("mask")) if isinstance(inputs, dict) else (inputs, None)
        if self.family in ("one_to_one", "one_to_many"):
            x = x.reshape(x.shape[0], 1, -1)
        if self.embed is not None:
            x = self.embed(x)
        if self.family == "one_to_many":  # x at the first step, then zeros
            x = jnp.concatenate([x, jnp.zeros((x.shape[0], self.output_length - 1, x.shape[2]), x.dtype)], axis=1)
        x_TxBxD = jnp.swapaxes(x.astype(state_dtype(self.dtype)), 0, 1)
        return x_TxBxD, (None if mask is None else jnp.swapaxes(mask, 0, 1))

    def __call__(self, inputs, *, train: bool = False, rngs: nnx.Rngs | None = None,
                 perturbations: dict | None = None) -> jax.Array:
        kw = dict(train=train, rngs=rngs)
        if self.family == "encoder_decoder":
            src_TxB = jnp.swapaxes(inputs["src"], 0, 1)
            carries, _ = self.encoder(self.src_embed(src_TxB), mask_TxB=(src_TxB != self.pad_id).astype(jnp.float32),
                                      perturbations=_sub(perturbations, "encoder."), **kw)
            tgt_TxBxE = self.tgt_embed(jnp.swapaxes(inputs["tgt_in"], 0, 1))
            _, y = self.decoder(tgt_TxBxE, carries0=carries, perturbations=_sub(perturbations, "decoder."), **kw)
            return jnp.swapaxes(self.head(y), 0, 1)
        x_TxBxD, mask_TxB = self.features(inputs)
        carries, y_TxBxH = self.stack(x_TxBxD, mask_TxB=mask_TxB, perturbations=perturbations, **kw)
        if self.family in ("one_to_one", "many_to_one"):
            return self.head(_last_state(carries[-1]))
        return jnp.swapaxes(self.head(y_TxBxH), 0, 1)

    def zero_perturbations(self, inputs) -> dict[str, jax.Array]:
        """Zeros for every perturbation this model takes on ``inputs`` (differentiate at them)."""
        if self.family == "encoder_decoder":
            B, S = inputs["src"].shape
            return {**self.encoder.zero_perturbations(S, B, "encoder."),
                    **self.decoder.zero_perturbations(inputs["tgt_in"].shape[1], B, "decoder.")}
        x_TxBxD, _ = jax.eval_shape(self.features, inputs)
        return self.stack.zero_perturbations(x_TxBxD.shape[0], x_TxBxD.shape[1])

    def pictures(self, inputs) -> dict:
        """The top layer's hidden states over time for the first example (units x time); for the
        encoder-decoder, the encoder's over the source and the decoder's over the target."""
        from lectarch.viz.picture import heatmaps

        def states(name: str, h_TxH, layers: int, **tokens):
            h_HxT = np.asarray(h_TxH, np.float32).T
            return heatmaps(h_HxT, f"{name}hidden states h_t of layer {layers} of {layers} ({h_HxT.shape[0]} units)",
                            xlabel="time step t", ylabel="unit", value_label="h_t", signed=True, **tokens)

        if self.family == "encoder_decoder":
            src_TxB = jnp.swapaxes(jnp.asarray(inputs["src"])[:1], 0, 1)
            carries, enc_TxBxH = self.encoder(self.src_embed(src_TxB),
                                              mask_TxB=(src_TxB != self.pad_id).astype(jnp.float32))
            tgt_TxB = jnp.swapaxes(jnp.asarray(inputs["tgt_in"])[:1], 0, 1)
            _, dec_TxBxH = self.decoder(self.tgt_embed(tgt_TxB), carries0=carries)
            src, tgt = np.asarray(src_TxB[:, 0]), np.asarray(tgt_TxB[:, 0])
            S, T = int(np.sum(src != self.pad_id)), int(np.sum(tgt != self.pad_id))
            n = len(self.encoder.forward)
            return {"hidden_states_encoder": states("encoder ", enc_TxBxH[:S, 0], n, xtokens=src[:S]),
                    "hidden_states_decoder": states("decoder ", dec_TxBxH[:T, 0], n, xtokens=tgt[:T])}
        x_TxBxD, mask_TxB = self.features(jax.tree.map(jnp.asarray, inputs))
        _, y_TxBxH = self.stack(x_TxBxD[:, :1], mask_TxB=None if mask_TxB is None else mask_TxB[:, :1])
        return {"hidden_states": states("", y_TxBxH[:, 0], len(self.stack.forward))}


def build(cfg: ml_collections.ConfigDict, spec: DataSpec, rngs: nnx.Rngs) -> RecurrentNetwork:
    return RecurrentNetwork(make_cell(cfg), spec, family=cfg.family, layers=cfg.layers,
                            bidirectional=cfg.bidirectional, dropout=cfg.dropout, embed_dim=cfg.embed_dim,
                            unroll=cfg.unroll, projection=cfg.projection, output_length=cfg.output_length,
                            bptt=cfg.get("bptt", "explicit"), remat=cfg.get("remat", "none"), rngs=rngs)

