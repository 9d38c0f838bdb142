"""Autoregressive decoding of the Transformer: greedy and beam search, with a key/value cache.

At step t the decoder sees target tokens 0..t (``bos`` first) and predicts token t+1. Without a
cache that means re-running the decoder on the whole prefix every step (O(L^2) positions); with
the cache each decoder layer keeps the keys and values of the positions it has already seen and
only the newest token is computed (O(L)); the encoder output is projected to cross-attention keys
and values once. Both give the same tokens and logits (tests/models/test_decoding.py).

Beam search keeps ``beam_size`` hypotheses ranked by their summed log-probabilities; a finished
hypothesis (one that emitted ``eos``) is only extended with padding at no cost. The final choice
among the beams divides by the GNMT length penalty lp(Y) = ((5 + |Y|) / 6)^alpha (Wu et al. 2016;
the Transformer paper uses beam 4, alpha 0.6).

Everything runs inside one ``jax.jit`` program (a ``lax.fori_loop`` over positions).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx


def _log_probs(logits_BxV: jax.Array) -> jax.Array:
    return jax.nn.log_softmax(logits_BxV.astype(jnp.float32), axis=-1)


def _choosable(model, logp_BxV: jax.Array) -> jax.Array:
    """``pad`` and ``bos`` are never generated (padding only follows ``eos``)."""
    banned_V = (jnp.arange(logp_BxV.shape[-1]) == model.pad_id) | (jnp.arange(logp_BxV.shape[-1]) == model.bos_id)
    return jnp.where(banned_V, -jnp.inf, logp_BxV)


@functools.partial(jax.jit, static_argnames=("graphdef", "max_len", "use_cache"))
def _greedy(graphdef, state, src_BxS, *, max_len: int, use_cache: bool):
    model = nnx.merge(graphdef, state)
    B = src_BxS.shape[0]
    memory, lengths_B, _ = model.encode(src_BxS)
    memories = model.memories(memory)
    tokens_BxL1 = jnp.full((B, max_len + 1), model.pad_id, jnp.int32).at[:, 0].set(model.bos_id)
    logp_BxLxV = jnp.zeros((B, max_len, model.tgt_vocab), jnp.float32)
    caches = model.init_caches(B, max_len) if use_cache else None

    def step(t, carry):
        tokens, caches, logp_all, done_B = carry
        if use_cache:
            last_Bx1 = jax.lax.dynamic_slice_in_dim(tokens, t, 1, axis=1)
            logits, caches, _ = model.decode(last_Bx1, memories, lengths_B, caches=caches, position=t)
            logits_BxV = logits[:, 0]
        else:  # recompute the whole prefix; the causal mask keeps later (padding) slots out of position t
            logits, _, _ = model.decode(tokens[:, :max_len], memories, lengths_B)
            logits_BxV = jax.lax.dynamic_index_in_dim(logits, t, axis=1, keepdims=False)
        logp_BxV = _log_probs(logits_BxV)
        next_B = jnp.where(done_B, model.pad_id, jnp.argmax(_choosable(model, logp_BxV), axis=-1).astype(jnp.int32))
        tokens = jax.lax.dynamic_update_slice_in_dim(tokens, next_B[:, None], t + 1, axis=1)
        logp_all = jax.lax.dynamic_update_slice_in_dim(logp_all, logp_BxV[:, None], t, axis=1)
        return tokens, caches, logp_all, done_B | (next_B == model.eos_id)

    tokens, _, logp_BxLxV, _ = jax.lax.fori_loop(
        0, max_len, step, (tokens_BxL1, caches, logp_BxLxV, jnp.zeros((B,), bool)))
    return tokens[:, 1:], logp_BxLxV


def greedy_decode(model: nnx.Module, src_BxS: jax.Array, max_len: int, *,
                  use_cache: bool = True) -> tuple[jax.Array, jax.Array]:
    """(tokens BxL, log-probabilities BxLxV of each step): the most probable token at every step.

    After ``eos`` a row continues with ``pad_id``; ``pad`` and ``bos`` are never chosen. The
    log-probabilities are the model's, over the whole vocabulary. ``use_cache=False`` recomputes
    the full prefix.
    """
    graphdef, state = nnx.split(model)
    return _greedy(graphdef, state, jnp.asarray(src_BxS), max_len=max_len, use_cache=use_cache)


def length_penalty(length: jax.Array, alpha: float) -> jax.Array:
    """lp(Y) = ((5 + |Y|) / 6)^alpha."""
    return ((5.0 + length.astype(jnp.float32)) / 6.0) ** alpha


@functools.partial(jax.jit, static_argnames=("graphdef", "max_len", "beam_size", "alpha"))
def _beam(graphdef, state, src_BxS, *, max_len: int, beam_size: int, alpha: float):
    model = nnx.merge(graphdef, state)
    B, K, V = src_BxS.shape[0], beam_size, model.tgt_vocab
    memory, lengths_B, _ = model.encode(src_BxS)
    per_beam = lambda x: jnp.repeat(x, K, axis=0)  # noqa: E731 - row b*K + k is beam k of example b
    memories = jax.tree.map(per_beam, model.memories(memory))
    lengths_BK = per_beam(lengths_B)
    caches = model.init_caches(B * K, max_len)
    tokens_BxKxL1 = jnp.full((B, K, max_len + 1), model.pad_id, jnp.int32).at[:, :, 0].set(model.bos_id)
    # Only beam 0 is alive at the start, so the first step does not pick K copies of one token.
    score_BxK = jnp.broadcast_to(jnp.where(jnp.arange(K) == 0, 0.0, -jnp.inf)[None], (B, K))
    pad_only_V = jnp.where(jnp.arange(V) == model.pad_id, 0.0, -jnp.inf)

    def select(x_BxKx, beam_BxK):  # each beam's row replaced by its chosen parent beam's row
        idx = beam_BxK.reshape((B, K) + (1,) * (x_BxKx.ndim - 2))
        return jnp.take_along_axis(x_BxKx, idx, axis=1)

    def select_rows(c_BKx, beam_BxK):  # the same for caches, whose rows are b*K + k
        return select(c_BKx.reshape((B, K) + c_BKx.shape[1:]), beam_BxK).reshape(c_BKx.shape)

    def step(t, carry):
        tokens, caches, score, finished, length = carry
        last = jax.lax.dynamic_slice_in_dim(tokens, t, 1, axis=2).reshape(B * K, 1)
        logits, caches, _ = model.decode(last, memories, lengths_BK, caches=caches, position=t)
        logp_BxKxV = _choosable(model, _log_probs(logits[:, 0])).reshape(B, K, V)
        logp_BxKxV = jnp.where(finished[..., None], pad_only_V[None, None], logp_BxKxV)
        flat_BxKV = (score[..., None] + logp_BxKxV).reshape(B, K * V)
        score, idx_BxK = jax.lax.top_k(flat_BxKV, K)
        beam_BxK, token_BxK = (idx_BxK // V).astype(jnp.int32), (idx_BxK % V).astype(jnp.int32)
        tokens = select(tokens, beam_BxK)
        tokens = jax.lax.dynamic_update_slice_in_dim(tokens, token_BxK[..., None], t + 1, axis=2)
        was_finished = select(finished, beam_BxK)
        length = select(length, beam_BxK) + (~was_finished).astype(jnp.int32)
        finished = was_finished | (token_BxK == model.eos_id)
        caches = jax.tree.map(lambda c: select_rows(c, beam_BxK), caches)
        return tokens, caches, score, finished, length

    init = (tokens_BxKxL1, caches, score_BxK, jnp.zeros((B, K), bool), jnp.zeros((B, K), jnp.int32))
    tokens, _, score, _, length = jax.lax.fori_loop(0, max_len, step, init)
    final_BxK = score / length_penalty(length, alpha)
    best_B = jnp.argmax(final_BxK, axis=1)
    take = lambda x: jnp.take_along_axis(x, best_B.reshape((B, 1) + (1,) * (x.ndim - 2)), axis=1)[:, 0]  # noqa: E731
    return take(tokens)[:, 1:], take(final_BxK)


def beam_search(model: nnx.Module, src_BxS: jax.Array, max_len: int, *, beam_size: int = 4,
                alpha: float = 0.6) -> tuple[jax.Array, jax.Array]:
    """(tokens BxL of the best hypothesis, its length-penalised log-probability B)."""
    graphdef, state = nnx.split(model)
    return _beam(graphdef, state, jnp.asarray(src_BxS), max_len=max_len, beam_size=beam_size, alpha=float(alpha))


def until_eos(tokens_L: np.ndarray, eos_id: int, pad_id: int) -> list[int]:
    """The generated tokens before the first ``eos`` (padding dropped)."""
    out = []
    for t in np.asarray(tokens_L).tolist():
        if t == eos_id:
            break
        if t != pad_id:
            out.append(int(t))
    return out


def evaluate_decoding(model: nnx.Module, dataset, *, num_examples: int, batch_size: int = 128,
                      beam_size: int = 1, alpha: float = 0.6) -> dict[str, float]:
    """Decode the first ``num_examples`` eval sources and score them against their targets.

    ``sequence_accuracy``: the fraction of outputs that equal the target exactly (up to ``eos``).
    ``bleu``: corpus BLEU (sacrebleu) of the detokenised outputs, when the dataset gives a
    ``detokenize`` function (``Dataset.detokenize``; translation).
    """
    n = min(num_examples, len(dataset.eval))
    if n == 0:
        return {}
    max_len = dataset.spec.max_len or model.max_len
    hyps, refs = [], []
    for start in range(0, n, batch_size):
        elems = [dataset.eval[i] for i in range(start, min(start + batch_size, n))]
        rows = len(elems)
        src = np.stack([e["inputs"]["src"] for e in elems] + [elems[-1]["inputs"]["src"]] * (batch_size - rows))
        if beam_size > 1:
            tokens, _ = beam_search(model, src, max_len, beam_size=beam_size, alpha=alpha)
        else:
            tokens, _ = greedy_decode(model, src, max_len)
        tokens = np.asarray(tokens)[:rows]
        hyps += [until_eos(t, model.eos_id, model.pad_id) for t in tokens]
        refs += [until_eos(e["targets"], model.eos_id, model.pad_id) for e in elems]
    out = {"sequence_accuracy": float(np.mean([h == r for h, r in zip(hyps, refs)]))}
    detokenize = dataset.detokenize
    if detokenize is not None:
        import sacrebleu

        out["bleu"] = float(sacrebleu.corpus_bleu([detokenize(h) for h in hyps],
                                                  [[detokenize(r) for r in refs]]).score)
    return out
