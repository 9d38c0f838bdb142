"""Cross-correlation from first principles, as on the lecture's worked examples.

What deep learning calls a convolution is a cross-correlation: slide the kernel over the (padded)
input and take, at every position, the sum of the elementwise product of the kernel with the patch
under it. With stride ``s``, dilation ``d`` and kernel size ``K``, output ``i`` of a 1-D layer is

    y[i, o] = sum_{k < K} sum_c  x_pad[s * i + d * k, c] * w[k, c, o],

    len(y) = floor((len(x) + p_lo + p_hi - (d * (K - 1) + 1)) / s) + 1.

The code does exactly that in two readable steps, ``patches`` (gather the windows) then a product
with the kernel; the 2-D version is the same per axis. These functions are for teaching, tests and
``lectarch conv-example``: the models use ``conv2d_xla`` (``lax.conv_general_dilated``), which the
property tests show to be equal.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax import lax

Padding = int | tuple[int, int]


def pad_pair(padding: Padding) -> tuple[int, int]:
    """``p`` -> ``(p, p)``; ``(lo, hi)`` stays."""
    return (padding, padding) if isinstance(padding, int) else (int(padding[0]), int(padding[1]))


def output_size(n: int, kernel: int, stride: int = 1, padding: Padding = 0, dilation: int = 1) -> int:
    """Positions a window of ``kernel`` taps (``dilation`` apart) fits in ``n`` padded inputs at ``stride``."""
    lo, hi = pad_pair(padding)
    return (n + lo + hi - (dilation * (kernel - 1) + 1)) // stride + 1


def window_indices(n: int, kernel: int, stride: int = 1, padding: Padding = 0, dilation: int = 1) -> jax.Array:
    """``idx[i, k] = stride * i + dilation * k``: where tap ``k`` of output ``i`` reads the padded input."""
    n_out = output_size(n, kernel, stride, padding, dilation)
    if n_out < 1:
        raise ValueError(f"a window of {kernel} taps (dilation {dilation}) does not fit {n} inputs "
                         f"padded by {pad_pair(padding)}")
    return stride * jnp.arange(n_out)[:, None] + dilation * jnp.arange(kernel)[None, :]


def patches_1d(x_BxLxC: jax.Array, kernel: int, stride: int = 1, padding: Padding = 0, dilation: int = 1,
               pad_value: float = 0.0) -> jax.Array:
    """The windows of a 1-D signal: ``B x L' x K x C`` with ``[b, i, k] = x_pad[b, s*i + d*k]``."""
    x_pad = jnp.pad(x_BxLxC, ((0, 0), pad_pair(padding), (0, 0)), constant_values=pad_value)
    idx_LoxK = window_indices(x_BxLxC.shape[1], kernel, stride, padding, dilation)
    return x_pad[:, idx_LoxK, :]


def patches_2d(x_BxHxWxC: jax.Array, kernel: Sequence[int], stride: Sequence[int] = (1, 1),
               padding: Sequence[Padding] = (0, 0), dilation: Sequence[int] = (1, 1),
               pad_value: float = 0.0) -> jax.Array:
    """The windows of an image: ``B x H' x W' x Kh x Kw x C``, rows and columns chosen as in 1-D."""
    x_pad = jnp.pad(x_BxHxWxC, ((0, 0), pad_pair(padding[0]), pad_pair(padding[1]), (0, 0)),
                    constant_values=pad_value)
    rows_HoxKh = window_indices(x_BxHxWxC.shape[1], kernel[0], stride[0], padding[0], dilation[0])
    cols_WoxKw = window_indices(x_BxHxWxC.shape[2], kernel[1], stride[1], padding[1], dilation[1])
    return x_pad[:, rows_HoxKh[:, None, :, None], cols_WoxKw[None, :, None, :], :]


def conv1d(x_BxLxC: jax.Array, w_KxCxO: jax.Array, stride: int = 1, padding: Padding = 0,
           dilation: int = 1) -> jax.Array:
    """1-D cross-correlation: ``y[b, i, o] = sum_{k, c} x_pad[b, s*i + d*k, c] w[k, c, o]``."""
    p_BxLoxKxC = patches_1d(x_BxLxC, w_KxCxO.shape[0], stride, padding, dilation)
    return jnp.einsum("blkc,kco->blo", p_BxLoxKxC, w_KxCxO)


def conv2d(x_BxHxWxC: jax.Array, w_KhxKwxCxO: jax.Array, stride: Sequence[int] = (1, 1),
           padding: Sequence[Padding] = (0, 0), dilation: Sequence[int] = (1, 1)) -> jax.Array:
    """2-D cross-correlation: ``y[b, i, j, o] = sum_{u, v, c} x_pad[b, s*i + d*u, s*j + d*v, c] w[u, v, c, o]``."""
    p = patches_2d(x_BxHxWxC, w_KhxKwxCxO.shape[:2], stride, padding, dilation)
    return jnp.einsum("bhwuvc,uvco->bhwo", p, w_KhxKwxCxO)


def conv1d_xla(x_BxLxC: jax.Array, w_KxCxO: jax.Array, stride: int = 1, padding: Padding = 0,
               dilation: int = 1) -> jax.Array:
    """The same 1-D layer by XLA's convolution (the fast path)."""
    return lax.conv_general_dilated(x_BxLxC, w_KxCxO, (stride,), [pad_pair(padding)], rhs_dilation=(dilation,),
                                    dimension_numbers=("NWC", "WIO", "NWC"))


def conv2d_xla(x_BxHxWxC: jax.Array, w_KhxKwxCxO: jax.Array, stride: Sequence[int] = (1, 1),
               padding: Sequence[Padding] = (0, 0), dilation: Sequence[int] = (1, 1)) -> jax.Array:
    """The same 2-D layer by XLA's convolution (NHWC, HWIO): what the models run."""
    return lax.conv_general_dilated(x_BxHxWxC, w_KhxKwxCxO, tuple(stride), [pad_pair(p) for p in padding],
                                    rhs_dilation=tuple(dilation), dimension_numbers=("NHWC", "HWIO", "NHWC"))


__all__ = ["conv1d", "conv1d_xla", "conv2d", "conv2d_xla", "output_size", "pad_pair", "patches_1d",
           "patches_2d", "window_indices"]
