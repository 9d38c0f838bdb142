"""Rematerialisation: recompute a block's activations in the backward pass instead of keeping them.

``model.remat`` (every built-in model):

    "none"             keep every activation the backward pass needs (the fastest; the most memory)
    "block"            keep each block's input only; its backward pass first runs the block again
    "block_save_dots"  keep each block's input and the outputs of its matmuls without batch
                       dimensions (``jax.checkpoint_policies.dots_with_no_batch_dims_saveable``: the
                       dense layers' outputs); recompute the rest (activations, normalisation,
                       attention weights)

A block is a Transformer encoder or decoder layer, a recurrent layer (one direction of one layer
of a deep or bidirectional stack), a CNN stage (a convolution with its ReLU and pooling) and a TCN
residual block. The values and gradients are those without remat (tests/models/test_remat.py);
the peak memory of the train step drops (XLA's ``memory_analysis``).
"""

from collections.abc import Callable

import jax
from flax import nnx

REMAT = ("none", "block", "block_save_dots")
POLICIES = {"block": None, "block_save_dots": jax.checkpoint_policies.dots_with_no_batch_dims_saveable}


def remat(fn: Callable, mode: str) -> Callable:
    """``fn`` (whose arguments may be nnx modules and arrays) recomputed in the backward pass per ``mode``."""
    if mode == "none":
        return fn
    return nnx.remat(fn, policy=POLICIES[mode])
