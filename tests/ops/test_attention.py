"""Scaled dot-product attention: the fused path equals the einsum reference, which equals the equation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lectarch.ops.attention import attention, attention_mask, dot_product_attention, reference_attention

B, T, S, H, DH = 2, 5, 7, 3, 8


def _qkv(T=T, S=S, dtype=jnp.float32, seed=0):
    kq, kk, kv = jax.random.split(jax.random.PRNGKey(seed), 3)
    return (jax.random.normal(kq, (B, T, H, DH), dtype), jax.random.normal(kk, (B, S, H, DH), dtype),
            jax.random.normal(kv, (B, S, H, DH), dtype))


def _by_hand(q, k, v, allowed_BxHxTxS):
    """softmax(q k^T / sqrt(d)) v, one batch row, head and query at a time, in float64 numpy."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    out = np.zeros(q.shape)
    for b in range(q.shape[0]):
        for h in range(q.shape[2]):
            for t in range(q.shape[1]):
                logits = np.array([q[b, t, h] @ k[b, s, h] / np.sqrt(q.shape[-1]) for s in range(k.shape[1])])
                ok = allowed_BxHxTxS[b, h, t]
                p = np.where(ok, np.exp(logits - logits[ok].max()), 0.0)
                out[b, t, h] = (p / p.sum()) @ v[b, :, h]
    return out


def test_reference_is_the_equation_with_masks():
    q, k, v = _qkv()
    lengths = np.array([7, 4])
    out, w = jax.jit(lambda *a: reference_attention(*a, is_causal=True, kv_lengths_B=jnp.asarray(lengths)))(q, k, v)
    allowed = np.zeros((B, H, T, S), bool)
    for b in range(B):
        for t in range(T):
            allowed[b, :, t, : min(t + (S - T) + 1, int(lengths[b]))] = True
    np.testing.assert_allclose(out, _by_hand(q, k, v, allowed), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.sum(np.asarray(w), -1), 1.0, rtol=1e-6)
    assert np.all(np.asarray(w)[~allowed] == 0.0)  # masked keys get exactly no weight


@pytest.mark.parametrize("kwargs,self_attention", [
    ({"is_causal": True}, True),
    ({"is_causal": True, "kv_lengths_B": np.array([6, 2])}, False),
    ({"kv_lengths_B": np.array([3, 7])}, False),
    ({"mask": np.random.default_rng(3).random((B, 1, T, S)) < 0.7}, False),
])
def test_fused_equals_reference(kwargs, self_attention):
    q, k, v = _qkv(S=T if self_attention else S)
    kwargs = {key: jnp.asarray(val) for key, val in kwargs.items()}
    if "mask" in kwargs:
        kwargs["mask"] = kwargs["mask"].at[:, :, :, 0].set(True)  # every query sees at least one key

    @jax.jit
    def both(q, k, v):
        return reference_attention(q, k, v, **kwargs)[0], dot_product_attention(q, k, v, implementation="xla", **kwargs)

    ref, fused = both(q, k, v)
    np.testing.assert_allclose(fused, ref, rtol=1e-5, atol=1e-5)


def test_bfloat16_close_to_float32_and_weights_on_request():
    q, k, v = _qkv()

    @jax.jit
    def run(q, k, v):
        ref, _ = reference_attention(q, k, v, is_causal=True)
        out, none = attention(*(x.astype(jnp.bfloat16) for x in (q, k, v)), is_causal=True)
        assert none is None
        _, w = attention(q, k, v, is_causal=True, return_weights=True)
        return ref, out, w

    ref, out, w = run(q, k, v)
    assert out.dtype == jnp.bfloat16 and w.shape == (B, H, T, S)
    np.testing.assert_allclose(np.asarray(out, np.float32), ref, atol=0.1)


def test_causal_mask_of_a_cached_block_sees_every_earlier_key():
    m = np.asarray(attention_mask(2, 5, is_causal=True))[0, 0]  # queries at positions 3 and 4 of 5
    np.testing.assert_array_equal(m, [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
