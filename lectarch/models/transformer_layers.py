"""The blocks of the Transformer's figure 1 (Vaswani et al. 2017): positional encoding, multi-head
attention, the position-wise feed-forward network, "add & norm", and one encoder and one decoder layer.

Add & norm, as in the paper (post-norm):  x <- LayerNorm(x + Dropout(Sublayer(x)))
and the pre-norm option (Xiong et al. 2020): x <- x + Dropout(Sublayer(LayerNorm(x)))

Shapes: B batch, S source length, T target length, D d_model, H heads, Dh = D / H, F d_ff.
Decoding keeps a key/value cache per decoder layer: ``{"k", "v"}`` (BxLxHxDh, the decoder's own
keys/values of positions 0..L-1) and ``{"mem_k", "mem_v"}`` (BxSxHxDh, the encoder output projected
once for cross-attention).
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from lectarch.ops.attention import attention


def sinusoidal_encoding(max_len: int, d_model: int) -> np.ndarray:
    """PE(pos, 2i) = sin(pos / 10000^(2i/d_model)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model))."""
    pos_Lx1 = np.arange(max_len, dtype=np.float64)[:, None]
    two_i = np.arange(0, d_model, 2, dtype=np.float64)[None, :]
    angle = pos_Lx1 / np.power(10000.0, two_i / d_model)
    pe_LxD = np.zeros((max_len, d_model), np.float64)
    pe_LxD[:, 0::2] = np.sin(angle)
    pe_LxD[:, 1::2] = np.cos(angle[:, : d_model // 2])
    return pe_LxD.astype(np.float32)


class PositionalEncoding(nnx.Module):
    """Adds PE(pos) to the (scaled) embeddings: the fixed sinusoids (no state), or a learned table."""

    def __init__(self, max_len: int, d_model: int, *, learned: bool, rngs: nnx.Rngs):
        self.max_len, self.d_model, self.learned = max_len, d_model, learned
        if learned:
            self.table = nnx.Param(jax.random.normal(rngs.params(), (max_len, d_model)) * 0.02)

    def __call__(self, x_BxTxD: jax.Array, offset: jax.Array | int = 0) -> jax.Array:
        T = x_BxTxD.shape[1]
        table_LxD = self.table[...] if self.learned else jnp.asarray(_sinusoids(self.max_len, self.d_model))
        pe_TxD = jax.lax.dynamic_slice_in_dim(table_LxD, offset, T, axis=0)
        return x_BxTxD + pe_TxD[None].astype(x_BxTxD.dtype)


@functools.lru_cache(maxsize=8)
def _sinusoids(max_len: int, d_model: int) -> np.ndarray:
    return sinusoidal_encoding(max_len, d_model)


class LayerNorm(nnx.LayerNorm):
    """``nnx.LayerNorm`` (mean and variance over d_model, in float32 whatever the compute dtype).

    Flax upcasts a bfloat16 input to float32 for the statistics by an implicit promotion; that one
    is allowed here even where strict dtype promotion is on (the tests)."""

    def __call__(self, x_BxTxD: jax.Array, *args, **kw) -> jax.Array:
        with jax.numpy_dtype_promotion("standard"):
            return super().__call__(x_BxTxD, *args, **kw)


class MultiHeadAttention(nnx.Module):
    """MultiHead(Q, K, V) = Concat(head_1..head_h) W^O,  head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)."""

    def __init__(self, d_model: int, num_heads: int, *, dtype, implementation: str, rngs: nnx.Rngs):
        if d_model % num_heads:
            raise ValueError(f"d_model {d_model} is not divisible by num_heads {num_heads}")
        self.num_heads, self.head_dim = num_heads, d_model // num_heads
        self.implementation = implementation
        lin = lambda: nnx.Linear(d_model, d_model, dtype=dtype, rngs=rngs)  # noqa: E731
        self.w_q, self.w_k, self.w_v, self.w_o = lin(), lin(), lin(), lin()

    def heads(self, x_BxTxD: jax.Array) -> jax.Array:
        B, T, _ = x_BxTxD.shape
        return x_BxTxD.reshape(B, T, self.num_heads, self.head_dim)

    def keys_values(self, x_BxSxD: jax.Array) -> tuple[jax.Array, jax.Array]:
        return self.heads(self.w_k(x_BxSxD)), self.heads(self.w_v(x_BxSxD))

    def __call__(self, x_BxTxD: jax.Array, k_BxSxHxDh: jax.Array, v_BxSxHxDh: jax.Array, *,
                 is_causal: bool = False, kv_lengths_B: jax.Array | None = None, mask: jax.Array | None = None,
                 return_weights: bool = False) -> tuple[jax.Array, jax.Array | None]:
        """Attend from the queries of ``x`` to already projected keys and values."""
        q_BxTxHxDh = self.heads(self.w_q(x_BxTxD))
        out_BxTxHxDh, weights = attention(q_BxTxHxDh, k_BxSxHxDh, v_BxSxHxDh, is_causal=is_causal,
                                          kv_lengths_B=kv_lengths_B, mask=mask, implementation=self.implementation,
                                          return_weights=return_weights)
        B, T = x_BxTxD.shape[:2]
        return self.w_o(out_BxTxHxDh.reshape(B, T, -1)), weights


class FeedForward(nnx.Module):
    """FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, applied at each position."""

    def __init__(self, d_model: int, d_ff: int, *, dtype, rngs: nnx.Rngs):
        self.w_1 = nnx.Linear(d_model, d_ff, dtype=dtype, rngs=rngs)
        self.w_2 = nnx.Linear(d_ff, d_model, dtype=dtype, rngs=rngs)

    def __call__(self, x_BxTxD: jax.Array) -> jax.Array:
        return self.w_2(jax.nn.relu(self.w_1(x_BxTxD)))


class AddNorm(nnx.Module):
    """Residual connection and layer normalisation around a sub-layer, post-norm or pre-norm."""

    def __init__(self, d_model: int, *, pre_norm: bool, dropout: float, dtype, rngs: nnx.Rngs):
        self.pre_norm = pre_norm
        self.norm = LayerNorm(d_model, epsilon=1e-6, dtype=dtype, rngs=rngs)
        self.dropout = nnx.Dropout(dropout)

    def __call__(self, x_BxTxD: jax.Array, sublayer, *, train: bool, rngs: nnx.Rngs | None):
        """``sublayer(x) -> (y, aux)``; returns (the new x, aux)."""
        if self.pre_norm:
            y, aux = sublayer(self.norm(x_BxTxD))
            return x_BxTxD + self.dropout(y, deterministic=not train, rngs=rngs), aux
        y, aux = sublayer(x_BxTxD)
        return self.norm(x_BxTxD + self.dropout(y, deterministic=not train, rngs=rngs)), aux


class EncoderLayer(nnx.Module):
    """Multi-head self-attention, then the feed-forward network, each in add & norm."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, *, pre_norm: bool, dropout: float,
                 dtype, implementation: str, rngs: nnx.Rngs):
        self.self_attention = MultiHeadAttention(d_model, num_heads, dtype=dtype, implementation=implementation,
                                                 rngs=rngs)
        self.feed_forward = FeedForward(d_model, d_ff, dtype=dtype, rngs=rngs)
        self.add_norm_1 = AddNorm(d_model, pre_norm=pre_norm, dropout=dropout, dtype=dtype, rngs=rngs)
        self.add_norm_2 = AddNorm(d_model, pre_norm=pre_norm, dropout=dropout, dtype=dtype, rngs=rngs)

    def __call__(self, x_BxSxD: jax.Array, src_lengths_B: jax.Array, *, train: bool = False,
                 rngs: nnx.Rngs | None = None, return_weights: bool = False):
        """Returns (x, self-attention weights BxHxSxS or None). Padded keys (s >= length) are masked."""
        def self_attend(h):
            k, v = self.self_attention.keys_values(h)
            return self.self_attention(h, k, v, kv_lengths_B=src_lengths_B, return_weights=return_weights)

        x, weights = self.add_norm_1(x_BxSxD, self_attend, train=train, rngs=rngs)
        x, _ = self.add_norm_2(x, lambda h: (self.feed_forward(h), None), train=train, rngs=rngs)
        return x, weights


class DecoderLayer(nnx.Module):
    """Masked multi-head self-attention, encoder-decoder attention, feed-forward; each in add & norm."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, *, pre_norm: bool, dropout: float,
                 dtype, implementation: str, rngs: nnx.Rngs):
        kw = dict(dtype=dtype, implementation=implementation, rngs=rngs)
        self.self_attention = MultiHeadAttention(d_model, num_heads, **kw)
        self.cross_attention = MultiHeadAttention(d_model, num_heads, **kw)
        self.feed_forward = FeedForward(d_model, d_ff, dtype=dtype, rngs=rngs)
        norm = lambda: AddNorm(d_model, pre_norm=pre_norm, dropout=dropout, dtype=dtype, rngs=rngs)  # noqa: E731
        self.add_norm_1, self.add_norm_2, self.add_norm_3 = norm(), norm(), norm()

    def memory(self, memory_BxSxD: jax.Array) -> dict[str, jax.Array]:
        """The encoder output projected to this layer's cross-attention keys and values (computed once)."""
        mem_k, mem_v = self.cross_attention.keys_values(memory_BxSxD)
        return {"mem_k": mem_k, "mem_v": mem_v}

    def __call__(self, y_BxTxD: jax.Array, memory: dict[str, jax.Array], src_lengths_B: jax.Array, *,
                 cache: dict[str, jax.Array] | None = None, position: jax.Array | None = None,
                 train: bool = False, rngs: nnx.Rngs | None = None, return_weights: bool = False):
        """Returns (y, new cache or None, (self weights, cross weights) or (None, None)).

        Without ``cache``: all T positions at once, position t attending to targets 0..t (causal mask).
        With ``cache`` (keys/values of positions < ``position``): the T new positions starting at
        ``position`` are written into the cache and attend to cache entries 0..position+t.
        """
        new_cache = None

        def self_attend(h_BxTxD):
            nonlocal new_cache
            k_new, v_new = self.self_attention.keys_values(h_BxTxD)
            if cache is None:
                return self.self_attention(h_BxTxD, k_new, v_new, is_causal=True, return_weights=return_weights)
            k = jax.lax.dynamic_update_slice_in_dim(cache["k"], k_new.astype(cache["k"].dtype), position, axis=1)
            v = jax.lax.dynamic_update_slice_in_dim(cache["v"], v_new.astype(cache["v"].dtype), position, axis=1)
            new_cache = {"k": k, "v": v}
            T = h_BxTxD.shape[1]
            lengths_B = jnp.full((h_BxTxD.shape[0],), position + T, jnp.int32)
            # A block of T new queries sees cache entries < position + t + 1: causal within the block,
            # everything before it; later (still empty) cache slots are cut off by the lengths.
            mask_1x1xTxS = ((jnp.arange(k.shape[1])[None, :] <= position + jnp.arange(T)[:, None])[None, None]
                            if T > 1 else None)
            return self.self_attention(h_BxTxD, k, v, kv_lengths_B=lengths_B, mask=mask_1x1xTxS,
                                       return_weights=return_weights)

        def cross_attend(h_BxTxD):
            return self.cross_attention(h_BxTxD, memory["mem_k"], memory["mem_v"], kv_lengths_B=src_lengths_B,
                                        return_weights=return_weights)

        y, w_self = self.add_norm_1(y_BxTxD, self_attend, train=train, rngs=rngs)
        y, w_cross = self.add_norm_2(y, cross_attend, train=train, rngs=rngs)
        y, _ = self.add_norm_3(y, lambda h: (self.feed_forward(h), None), train=train, rngs=rngs)
        return y, new_cache, (w_self, w_cross)


def embedding_init(d_model: int):
    """N(0, d_model^-1/2): after the sqrt(d_model) scaling the embeddings have unit scale, like PE."""
    return jax.nn.initializers.normal(stddev=1.0 / math.sqrt(d_model))
