"""Max pooling from first principles: the largest value of every window.

The same windows as a cross-correlation (``lectarch.ops.conv.patches_*``), with the padding filled
by ``-inf`` so that it never wins, and a max over the window instead of a product with a kernel:

    y[i, c] = max_{k < K} x_pad[s * i + d * k, c].

Each channel is pooled on its own. ``max_pool2d_xla`` (``lax.reduce_window``) is XLA's pooling and
``max_pool2d_slices`` (a max of strided slices, the one the models run because its gradient is
faster on CPU) computes the same; the property tests show all three equal.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax import lax

from lectarch.ops.conv import Padding, padding_amounts, patches_1d, patches_2d


def max_pool1d(x_BxLxC: jax.Array, window: int, stride: int | None = None, padding: Padding = 0,
               dilation: int = 1) -> jax.Array:
    """``y[b, i, c] = max_k x_pad[b, s*i + d*k, c]`` (stride defaults to the window)."""
    p_BxLoxKxC = patches_1d(x_BxLxC, window, stride or window, padding, dilation, pad_value=-jnp.inf)
    return jnp.max(p_BxLoxKxC, axis=2)


def max_pool2d(x_BxHxWxC: jax.Array, window: Sequence[int], stride: Sequence[int] | None = None,
               padding: Sequence[Padding] = (0, 0), dilation: Sequence[int] = (1, 1)) -> jax.Array:
    """``y[b, i, j, c] = max_{u, v} x_pad[b, s*i + d*u, s*j + d*v, c]`` (stride defaults to the window)."""
    p = patches_2d(x_BxHxWxC, window, stride or window, padding, dilation, pad_value=-jnp.inf)
    return jnp.max(p, axis=(3, 4))


def max_pool1d_xla(x_BxLxC: jax.Array, window: int, stride: int | None = None, padding: Padding = 0,
                   dilation: int = 1) -> jax.Array:
    pads = padding_amounts(padding, x_BxLxC.shape[1], window, stride or window, dilation)
    return lax.reduce_window(x_BxLxC, -jnp.inf, lax.max, (1, window, 1), (1, stride or window, 1),
                             [(0, 0), pads, (0, 0)], window_dilation=(1, dilation, 1))


def max_pool2d_xla(x_BxHxWxC: jax.Array, window: Sequence[int], stride: Sequence[int] | None = None,
                   padding: Sequence[Padding] = (0, 0), dilation: Sequence[int] = (1, 1)) -> jax.Array:
    """The same pooling by XLA's ``reduce_window``."""
    stride = stride or window
    pads = [padding_amounts(padding[a], x_BxHxWxC.shape[1 + a], window[a], stride[a], dilation[a]) for a in (0, 1)]
    return lax.reduce_window(x_BxHxWxC, -jnp.inf, lax.max,
                             (1, *window, 1), (1, *stride, 1),
                             [(0, 0), *pads, (0, 0)],
                             window_dilation=(1, *dilation, 1))


def max_pool2d_slices(x_BxHxWxC: jax.Array, window: Sequence[int], stride: Sequence[int] | None = None,
                      padding: Sequence[Padding] = (0, 0)) -> jax.Array:
    """The same pooling as the elementwise max of the ``Kh * Kw`` strided slices ``x_pad[u::s, v::s]``.

    What the models run: equal to ``reduce_window`` in value, but its gradient is a chain of
    selects instead of XLA's select-and-scatter, which on the CPU backend is several times slower
    (AlexNet's three poolings, forward + backward: python -m experiments.bench).
    """
    stride = stride or window
    x = x_BxHxWxC
    pads = [padding_amounts(padding[a], x.shape[1 + a], window[a], stride[a]) for a in (0, 1)]
    if any(p != (0, 0) for p in pads):
        x = jnp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=-jnp.inf)
    B, H, W, C = x.shape
    n_h, n_w = (H - window[0]) // stride[0] + 1, (W - window[1]) // stride[1] + 1
    y = None
    for u in range(window[0]):
        for v in range(window[1]):
            s = lax.slice(x, (0, u, v, 0), (B, u + stride[0] * (n_h - 1) + 1, v + stride[1] * (n_w - 1) + 1, C),
                          (1, stride[0], stride[1], 1))
            y = s if y is None else jnp.maximum(y, s)
    return y


__all__ = ["max_pool1d", "max_pool1d_xla", "max_pool2d", "max_pool2d_slices", "max_pool2d_xla"]
