"""The Transformer (Vaswani et al. 2017, figure 1), from inputs to output probabilities.

    inputs  -> input embedding * sqrt(d_model) + positional encoding -> dropout
            -> N x [multi-head self-attention, add & norm; feed forward, add & norm]       = memory
    outputs (shifted right) -> output embedding * sqrt(d_model) + positional encoding -> dropout
            -> N x [masked multi-head self-attention, add & norm;
                    multi-head attention over the memory, add & norm; feed forward, add & norm]
            -> linear -> softmax = output probabilities

The model returns the logits (the linear layer's output); the softmax is in the loss
(``lectarch.train.objectives.classification`` with label smoothing) and in decoding.

``model.dtype`` is the compute dtype of every matmul (parameters, LayerNorm statistics, attention
logits and softmax stay float32: ``lectarch.models.dtypes``); ``model.remat`` recomputes each
encoder and decoder layer in the backward pass (``lectarch.models.remat``).

Inputs are ``{"src": BxS, "tgt_in": BxT}`` integer tokens, padded at the end with ``pad_id``; the
source padding is masked out of every attention over the source, the decoder's self-attention is
causal. ``lectarch.models.decoding`` has greedy and beam search with a key/value cache.
"""

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx

from lectarch.config import ConfigError
from lectarch.config.rules import NON_NEGATIVE_INT, POSITIVE_INT, PROBABILITY, OneOf
from lectarch.data.sequences import TOKENS
from lectarch.data.spec import DataSpec
from lectarch.models.dtypes import DTYPES, RENAMED, compute_dtype
from lectarch.models.remat import REMAT, remat
from lectarch.models.transformer_layers import (
    DecoderLayer,
    EncoderLayer,
    LayerNorm,
    PositionalEncoding,
    embedding_init,
)
from lectarch.ops.attention import IMPLEMENTATIONS

CONFIG_RULES = {
    "d_model": POSITIVE_INT,
    "num_heads": POSITIVE_INT,
    "d_ff": POSITIVE_INT,
    "num_encoder_layers": NON_NEGATIVE_INT,
    "num_decoder_layers": POSITIVE_INT,
    "dropout": PROBABILITY,
    "pre_norm": OneOf((True, False)),
    "positional": OneOf(("sinusoidal", "learned")),
    "max_len": POSITIVE_INT,
    "share_embeddings": OneOf((True, False)),
    "tie_output": OneOf((True, False)),
    "dtype": OneOf(tuple(DTYPES)),
    "attention": OneOf(IMPLEMENTATIONS),
    "remat": OneOf(REMAT),
    **RENAMED,
}


def default_config() -> ml_collections.ConfigDict:
    """A small Transformer for CPU (2+2 layers, d_model 256, 4 heads, d_ff 1024)."""
    m = ml_collections.ConfigDict()
    m.name = "transformer"
    m.d_model = 256
    m.num_heads = 4
    m.d_ff = 1024
    m.num_encoder_layers = 2
    m.num_decoder_layers = 2
    m.dropout = 0.1  # P_drop: sub-layer outputs and embedding + PE sums
    m.pre_norm = False  # False: post-norm LayerNorm(x + Sublayer(x)) as in the paper
    m.positional = "sinusoidal"  # or "learned"
    m.max_len = 256  # longest source/target sequence (size of the PE table)
    m.share_embeddings = False  # one embedding for source and target tokens (needs one shared vocabulary)
    m.tie_output = False  # pre-softmax linear = target embedding transposed
    m.dtype = "float32"  # compute dtype (parameters stay float32): float32 | bfloat16
    m.attention = "auto"  # auto (cuDNN on GPU in bf16, XLA elsewhere) | xla | cudnn | reference
    m.remat = "none"  # none | block | block_save_dots: recompute each layer in the backward pass
    return m


def base_config() -> ml_collections.ConfigDict:
    """The paper's base model: N = 6, d_model 512, 8 heads, d_ff 2048, P_drop 0.1, shared embeddings."""
    m = default_config()
    m.d_model, m.num_heads, m.d_ff = 512, 8, 2048
    m.num_encoder_layers = m.num_decoder_layers = 6
    m.share_embeddings = m.tie_output = True
    return m


def small_config() -> ml_collections.ConfigDict:
    """For the toy sequence tasks on a CPU: 2+2 layers, d_model 128, 4 heads, d_ff 512."""
    m = default_config()
    m.d_model, m.num_heads, m.d_ff = 128, 4, 512
    return m


def validate_config(cfg: ml_collections.ConfigDict) -> None:
    m = cfg.model
    if m.d_model % m.num_heads:
        raise ConfigError(f"config.model.d_model={m.d_model} is out of range: must be a multiple of "
                          f"config.model.num_heads={m.num_heads}")
    if m.positional == "sinusoidal" and m.d_model % 2:
        raise ConfigError(f"config.model.d_model={m.d_model} is out of range: sinusoidal positions need an even d_model")


class Transformer(nnx.Module):
    def __init__(self, src_vocab: int, tgt_vocab: int, *, d_model: int, num_heads: int, d_ff: int,
                 num_encoder_layers: int, num_decoder_layers: int, dropout: float, pre_norm: bool,
                 positional: str, max_len: int, share_embeddings: bool, tie_output: bool, dtype: str,
                 attention: str, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2, remat: str = "none",
                 rngs: nnx.Rngs):
        dt = compute_dtype(dtype)
        self.remat = remat
        self.d_model, self.max_len, self.pre_norm, self.tie_output = d_model, max_len, pre_norm, tie_output
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.tgt_vocab = tgt_vocab
        emb = lambda v: nnx.Embed(v, d_model, dtype=dt, embedding_init=embedding_init(d_model), rngs=rngs)  # noqa: E731
        self.src_embed = emb(src_vocab)
        self.tgt_embed = self.src_embed if share_embeddings else emb(tgt_vocab)
        self.positional = PositionalEncoding(max_len, d_model, learned=positional == "learned", rngs=rngs)
        self.dropout = nnx.Dropout(dropout)
        kw = dict(pre_norm=pre_norm, dropout=dropout, dtype=dt, implementation=attention, rngs=rngs)
        self.encoder = nnx.List([EncoderLayer(d_model, num_heads, d_ff, **kw) for _ in range(num_encoder_layers)])
        self.decoder = nnx.List([DecoderLayer(d_model, num_heads, d_ff, **kw) for _ in range(num_decoder_layers)])
        # Pre-norm leaves the residual stream un-normalised: one LayerNorm closes each stack.
        self.encoder_norm = LayerNorm(d_model, epsilon=1e-6, dtype=dt, rngs=rngs) if pre_norm else None
        self.decoder_norm = LayerNorm(d_model, epsilon=1e-6, dtype=dt, rngs=rngs) if pre_norm else None
        self.output = None if tie_output else nnx.Linear(d_model, tgt_vocab, dtype=dt, rngs=rngs)

    # -- figure 1, bottom: embeddings and positional encoding --------------------------------------
    def embed(self, embedding: nnx.Embed, tokens_BxT: jax.Array, offset=0, *, train: bool = False,
              rngs: nnx.Rngs | None = None) -> jax.Array:
        x_BxTxD = embedding(tokens_BxT) * jnp.asarray(math.sqrt(self.d_model), embedding.dtype or jnp.float32)
        return self.dropout(self.positional(x_BxTxD, offset), deterministic=not train, rngs=rngs)

    def source_lengths(self, src_BxS: jax.Array) -> jax.Array:
        """Real (non-padding) source tokens per row; padding sits at the end."""
        return jnp.sum(src_BxS != self.pad_id, axis=-1).astype(jnp.int32)

    # -- figure 1, left: the encoder ---------------------------------------------------------------
    def encode(self, src_BxS: jax.Array, *, train: bool = False, rngs: nnx.Rngs | None = None,
               return_weights: bool = False) -> tuple[jax.Array, jax.Array, list]:
        """(memory BxSxD, source lengths B, per layer self-attention weights BxHxSxS or None)."""
        lengths_B = self.source_lengths(src_BxS)
        x_BxSxD = self.embed(self.src_embed, src_BxS, train=train, rngs=rngs)
        weights = []
        run = remat(_encoder_call(train, return_weights), "none" if return_weights else self.remat)
        for layer in self.encoder:
            x_BxSxD, w = run(layer, x_BxSxD, lengths_B, rngs)
            weights.append(w)
        if self.encoder_norm is not None:
            x_BxSxD = self.encoder_norm(x_BxSxD)
        return x_BxSxD, lengths_B, weights

    # -- figure 1, right: the decoder, linear and softmax --------------------------------------------
    def memories(self, memory_BxSxD: jax.Array) -> list[dict[str, jax.Array]]:
        """Each decoder layer's cross-attention keys/values of the encoder output."""
        return [layer.memory(memory_BxSxD) for layer in self.decoder]

    def decode(self, tgt_in_BxT: jax.Array, memories: list[dict], src_lengths_B: jax.Array, *,
               caches: list[dict] | None = None, position=0, train: bool = False,
               rngs: nnx.Rngs | None = None, return_weights: bool = False):
        """(logits BxTxV, new caches or None, per layer (self, cross) weights).

        ``tgt_in`` holds the target tokens shifted right (starting with ``bos_id``). With ``caches``
        (see ``init_caches``) these are the tokens at positions ``position..position+T-1``.
        """
        y_BxTxD = self.embed(self.tgt_embed, tgt_in_BxT, position, train=train, rngs=rngs)
        new_caches, weights = [], []
        if caches is None:  # training and teacher forcing: each layer may be recomputed in the backward pass
            run = remat(_decoder_call(train, return_weights), "none" if return_weights else self.remat)
            for i, layer in enumerate(self.decoder):
                y_BxTxD, c, w = run(layer, y_BxTxD, memories[i], src_lengths_B, rngs)
                new_caches.append(c)
                weights.append(w)
        else:
            for i, layer in enumerate(self.decoder):
                y_BxTxD, c, w = layer(y_BxTxD, memories[i], src_lengths_B, cache=caches[i], position=position,
                                      train=train, rngs=rngs, return_weights=return_weights)
                new_caches.append(c)
                weights.append(w)
        if self.decoder_norm is not None:
            y_BxTxD = self.decoder_norm(y_BxTxD)
        logits_BxTxV = self.tgt_embed.attend(y_BxTxD) if self.output is None else self.output(y_BxTxD)
        return logits_BxTxV, (None if caches is None else new_caches), weights

    def init_caches(self, batch: int, length: int, dtype=None) -> list[dict[str, jax.Array]]:
        """Empty self-attention key/value caches (BxLxHxDh) for ``length`` target positions."""
        layer = self.decoder[0].self_attention
        dtype = dtype or self.tgt_embed.dtype or jnp.float32
        shape = (batch, length, layer.num_heads, layer.head_dim)
        return [{"k": jnp.zeros(shape, dtype), "v": jnp.zeros(shape, dtype)} for _ in self.decoder]

    def __call__(self, inputs: dict[str, jax.Array], *, train: bool = False,
                 rngs: nnx.Rngs | None = None) -> jax.Array:
        """Teacher-forced logits BxTxV for ``{"src": BxS, "tgt_in": BxT}``."""
        memory, lengths_B, _ = self.encode(inputs["src"], train=train, rngs=rngs)
        logits, _, _ = self.decode(inputs["tgt_in"], self.memories(memory), lengths_B, train=train, rngs=rngs)
        return logits

    def attention_weights(self, inputs: dict[str, jax.Array]) -> dict[str, list[jax.Array]]:
        """Every attention map (BxHxTxS per layer) for ``inputs``, through the einsum reference."""
        memory, lengths_B, enc_w = self.encode(inputs["src"], return_weights=True)
        _, _, dec_w = self.decode(inputs["tgt_in"], self.memories(memory), lengths_B, return_weights=True)
        return {"encoder_self": enc_w, "decoder_self": [w[0] for w in dec_w], "cross": [w[1] for w in dec_w]}

    def pictures(self, inputs: dict) -> dict:
        """Attention maps of the first example: one picture per attention kind and layer, a panel per
        head; rows are queries, columns keys (padding cropped), labelled with the token ids."""
        from lectarch.models.transformer_pictures import head_panels

        one = {k: jnp.asarray(np.asarray(v)[:1]) for k, v in inputs.items()}
        weights = nnx.jit(lambda m, x: m.attention_weights(x))(self, one)
        src, tgt = (np.asarray(one[k][0]) for k in ("src", "tgt_in"))
        src, tgt = src[src != self.pad_id], tgt[tgt != self.pad_id]
        tokens = {"encoder_self": (src, src), "decoder_self": (tgt, tgt), "cross": (tgt, src)}
        images = {}
        for kind, per_layer in weights.items():
            queries, keys = tokens[kind]
            for i, w_1xHxTxS in enumerate(per_layer):
                w = np.asarray(w_1xHxTxS[0], np.float32)[:, :len(queries), :len(keys)]
                images[f"attention_{kind}_layer{i}"] = head_panels(w, kind, i, queries, keys)
        return images

    def decode_metrics(self, dataset, batch_size: int) -> dict[str, float]:
        """Exact-match sequence accuracy (and BLEU for translation) of greedy decoding of the first
        ``dataset.decode_examples`` eval sources."""
        from lectarch.models.decoding import evaluate_decoding

        n = dataset.decode_examples
        return evaluate_decoding(self, dataset, num_examples=n, batch_size=batch_size) if n else {}


def _encoder_call(train: bool, return_weights: bool):
    """``(layer, x, lengths, rngs) -> layer(...)``: what remat wraps (nnx.remat takes no keywords)."""
    def call(layer: EncoderLayer, x_BxSxD, src_lengths_B, rngs):
        return layer(x_BxSxD, src_lengths_B, train=train, rngs=rngs, return_weights=return_weights)

    return call


def _decoder_call(train: bool, return_weights: bool):
    """``(layer, y, memory, lengths, rngs) -> layer(...)`` without a cache: what remat wraps."""
    def call(layer: DecoderLayer, y_BxTxD, memory, src_lengths_B, rngs):
        return layer(y_BxTxD, memory, src_lengths_B, train=train, rngs=rngs, return_weights=return_weights)

    return call


def build(cfg: ml_collections.ConfigDict, spec: DataSpec, rngs: nnx.Rngs) -> Transformer:
    src_vocab = spec.input_vocab or spec.num_outputs
    tgt_vocab = spec.num_outputs
    tokens = spec.tokens or TOKENS
    if cfg.share_embeddings and src_vocab != tgt_vocab:
        raise ConfigError(f"config.model.share_embeddings=True needs one vocabulary for source and target; "
                          f"the data has {src_vocab} and {tgt_vocab}")
    longest = spec.max_len or 0
    if longest > cfg.max_len:
        raise ConfigError(f"config.model.max_len={cfg.max_len} is out of range: the data has sequences of "
                          f"{longest} tokens")
    return Transformer(
        src_vocab, tgt_vocab, d_model=cfg.d_model, num_heads=cfg.num_heads, d_ff=cfg.d_ff,
        num_encoder_layers=cfg.num_encoder_layers, num_decoder_layers=cfg.num_decoder_layers,
        dropout=cfg.dropout, pre_norm=cfg.pre_norm, positional=cfg.positional, max_len=cfg.max_len,
        share_embeddings=cfg.share_embeddings, tie_output=cfg.tie_output, dtype=cfg.dtype,
        attention=cfg.attention, pad_id=tokens.pad, bos_id=tokens.bos, eos_id=tokens.eos,
        remat=cfg.get("remat", "none"), rngs=rngs)

