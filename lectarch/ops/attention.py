"""Scaled dot-product attention (Vaswani et al. 2017, eq. 1), per head:

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V

Two implementations of one function:

- ``reference_attention``: the equation written with einsums, with the attention weights
  (softmax probabilities) available for pictures. Tests compare everything against it.
- ``dot_product_attention``: ``jax.nn.dot_product_attention``, the fused kernel. On a GPU in
  bfloat16/float16 it is cuDNN's flash attention; elsewhere XLA's fused softmax (in bfloat16 on
  XLA: the reference's einsums, the same program with every dtype cast explicit).

Masks are given the way the fused kernels want them, so both paths see identical inputs:
``is_causal`` (query t sees keys s <= t + offset, where offset = S - T, so a single cached query
at position i sees keys 0..i) and ``kv_lengths_B`` (keys s >= length are padding). An arbitrary
boolean ``mask`` (broadcastable to BxHxTxS, True = attend) is also accepted.

Shapes: B batch, T queries, S keys, H heads, Dh head dimension.
"""

import jax
import jax.numpy as jnp

IMPLEMENTATIONS = ("auto", "xla", "cudnn", "reference")


def attention_mask(T: int, S: int, *, is_causal: bool = False, kv_lengths_B: jax.Array | None = None,
                   mask: jax.Array | None = None) -> jax.Array | None:
    """The boolean mask (True = attend), broadcastable to BxHxTxS, that the arguments describe."""
    out = None if mask is None else mask.astype(bool)
    if is_causal:
        t_T1 = jnp.arange(T)[:, None] + (S - T)
        s_1S = jnp.arange(S)[None, :]
        causal_11TxS = (s_1S <= t_T1)[None, None]
        out = causal_11TxS if out is None else out & causal_11TxS
    if kv_lengths_B is not None:
        valid_B11S = (jnp.arange(S)[None, :] < kv_lengths_B[:, None])[:, None, None, :]
        out = valid_B11S if out is None else out & valid_B11S
    return out


def reference_attention(q_BxTxHxDh: jax.Array, k_BxSxHxDh: jax.Array, v_BxSxHxDh: jax.Array, *,
                        is_causal: bool = False, kv_lengths_B: jax.Array | None = None,
                        mask: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """softmax(Q K^T / sqrt(d_k)) V with einsums; returns (output BxTxHxDh, weights BxHxTxS).

    Logits and softmax are computed in float32 whatever the input dtype. A query whose keys are all
    masked gets zero output (as the fused kernels give), not NaN.
    """
    T, S, Dh = q_BxTxHxDh.shape[1], k_BxSxHxDh.shape[1], q_BxTxHxDh.shape[-1]
    logits_BxHxTxS = jnp.einsum("bthd,bshd->bhts", q_BxTxHxDh, k_BxSxHxDh,
                                preferred_element_type=jnp.float32) / jnp.sqrt(jnp.float32(Dh))
    m = attention_mask(T, S, is_causal=is_causal, kv_lengths_B=kv_lengths_B, mask=mask)
    if m is not None:
        m = jnp.broadcast_to(m, logits_BxHxTxS.shape)
        logits_BxHxTxS = jnp.where(m, logits_BxHxTxS, -jnp.inf)
    logits_max = jnp.max(logits_BxHxTxS, axis=-1, keepdims=True)
    e = jnp.exp(logits_BxHxTxS - jnp.where(jnp.isfinite(logits_max), logits_max, 0.0))
    weights_BxHxTxS = e / jnp.maximum(jnp.sum(e, axis=-1, keepdims=True), 1e-30)
    out_BxTxHxDh = jnp.einsum("bhts,bshd->bthd", weights_BxHxTxS.astype(v_BxSxHxDh.dtype), v_BxSxHxDh)
    return out_BxTxHxDh, weights_BxHxTxS


def choose_implementation(dtype, implementation: str = "auto") -> str:
    """``auto``: cuDNN's fused kernel on a GPU in bfloat16/float16 (what it supports), XLA elsewhere."""
    if implementation != "auto":
        return implementation
    half = jnp.dtype(dtype) in (jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float16))
    return "cudnn" if jax.default_backend() == "gpu" and half else "xla"


def dot_product_attention(q_BxTxHxDh: jax.Array, k_BxSxHxDh: jax.Array, v_BxSxHxDh: jax.Array, *,
                          is_causal: bool = False, kv_lengths_B: jax.Array | None = None,
                          mask: jax.Array | None = None, implementation: str = "auto") -> jax.Array:
    """The same function as ``reference_attention`` (output only) through ``jax.nn.dot_product_attention``."""
    impl = choose_implementation(q_BxTxHxDh.dtype, implementation)
    if implementation == "auto" and impl == "cudnn" and (mask is not None or q_BxTxHxDh.shape[1] == 1):
        impl = "xla"  # cuDNN's kernel is for whole sequences with causal/length masks; decoding steps use XLA
    half = jnp.dtype(q_BxTxHxDh.dtype) in (jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float16))
    if impl == "reference" or (impl == "xla" and half):
        # In half precision jax's XLA path is these same einsums (float32 logits and softmax), but its
        # gradient promotes bfloat16 with float32 implicitly: the reference keeps every cast explicit.
        return reference_attention(q_BxTxHxDh, k_BxSxHxDh, v_BxSxHxDh, is_causal=is_causal,
                                   kv_lengths_B=kv_lengths_B, mask=mask)[0]
    T, S = q_BxTxHxDh.shape[1], k_BxSxHxDh.shape[1]
    if is_causal and T != S:  # a cached query block: jax's is_causal assumes T == S, so spell the mask out
        mask = attention_mask(T, S, is_causal=True, mask=mask)
        is_causal = False
    lengths = None if kv_lengths_B is None else kv_lengths_B.astype(jnp.int32)
    if impl == "xla" and lengths is not None:
        # XLA's path turns lengths into a mask itself; giving the mask keeps the program smaller.
        mask = attention_mask(T, S, kv_lengths_B=lengths, mask=mask)
        lengths = None
    return jax.nn.dot_product_attention(q_BxTxHxDh, k_BxSxHxDh, v_BxSxHxDh, mask=mask, is_causal=is_causal,
                                        key_value_seq_lengths=lengths, implementation=impl)


def attention(q_BxTxHxDh: jax.Array, k_BxSxHxDh: jax.Array, v_BxSxHxDh: jax.Array, *,
              is_causal: bool = False, kv_lengths_B: jax.Array | None = None, mask: jax.Array | None = None,
              implementation: str = "auto", return_weights: bool = False
              ) -> tuple[jax.Array, jax.Array | None]:
    """(output, weights or None): the fused path, or the einsum reference when weights are wanted."""
    if return_weights:
        return reference_attention(q_BxTxHxDh, k_BxSxHxDh, v_BxSxHxDh, is_causal=is_causal,
                                   kv_lengths_B=kv_lengths_B, mask=mask)
    return dot_product_attention(q_BxTxHxDh, k_BxSxHxDh, v_BxSxHxDh, is_causal=is_causal,
                                 kv_lengths_B=kv_lengths_B, mask=mask, implementation=implementation), None
