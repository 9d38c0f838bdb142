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

A padding is ``p`` zeros on both sides, ``(before, after)``, or a mode (any case):
``"SAME"`` (output ``ceil(n / stride)``, an odd extra zero after, as XLA pads), ``"VALID"`` (none) or
``"CAUSAL"`` (``d (K - 1)`` before, none after: output ``t`` reads inputs ``<= t``; 1-D).
``padding_amounts`` turns any of them into ``(before, after)`` for an input of ``n``.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax import lax

Padding = int | tuple[int, int] | str
PADDING_MODES = ("SAME", "VALID", "CAUSAL")


def pad_pair(padding: int | tuple[int, int]) -> tuple[int, int]:
    """``p`` -> ``(p, p)``; ``(lo, hi)`` stays (a mode needs the input size: ``padding_amounts``)."""
    if isinstance(padding, str):
        raise ValueError(f"padding {padding!r} is a mode: its zeros depend on the input size (padding_amounts)")
    return (padding, padding) if isinstance(padding, int) else (int(padding[0]), int(padding[1]))


def padding_amounts(padding: Padding, n: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """``(before, after)`` zeros of ``padding`` (a number, a pair or a mode) for an input of ``n``."""
    if not isinstance(padding, str):
        return pad_pair(padding)
    mode, span = padding.upper(), dilation * (kernel - 1)
    if mode == "VALID":
        return 0, 0
    if mode == "CAUSAL":
        return span, 0
    if mode == "SAME":
        total = max((-(-n // stride) - 1) * stride + span + 1 - n, 0)
        return total // 2, total - total // 2
    raise ValueError(f"padding {padding!r} is not a number, a (before, after) pair or one of {PADDING_MODES}")


def output_size(n: int, kernel: int, stride: int = 1, padding: Padding = 0, dilation: int = 1) -> int:
    """Positions a window of ``kernel`` taps (``dilation`` apart) fits in ``n`` padded inputs at ``stride``."""
    lo, hi = padding_amounts(padding, n, kernel, stride, dilation)
    return (n + lo + hi - (dilation * (kernel - 1) + 1)) // stride + 1


def window_indices(n: int, kernel: int, stride: int = 1, padding: Padding = 0, dilation: int = 1) -> jax.Array:
    """``idx[i, k] = stride * i + dilation * k``: where tap ``k`` of output ``i`` reads the padded input."""
    n_out = output_size(n, kernel, stride, padding, dilation)
    if n_out < 1:
        raise ValueError(f"a window of {kernel} taps (dilation {dilation}) does not fit {n} inputs "
                         f"padded by {padding_amounts(padding, n, kernel, stride, dilation)}")
    return stride * jnp.arange(n_out)[:, None] + dilation * jnp.arange(kernel)[None, :]


def patches_1d(x_BxLxC: jax.Array, kernel: int, stride: int = 1, padding: Padding = 0, dilation: int = 1,
               pad_value: float = 0.0) -> jax.Array:
    """The windows of a 1-D signal: ``B x L' x K x C`` with ``[b, i, k] = x_pad[b, s*i + d*k]``."""
    pads = padding_amounts(padding, x_BxLxC.shape[1], kernel, stride, dilation)
    x_pad = jnp.pad(x_BxLxC, ((0, 0), pads, (0, 0)), constant_values=pad_value)
    idx_LoxK = window_indices(x_BxLxC.shape[1], kernel, stride, padding, dilation)
    return x_pad[:, idx_LoxK, :]


def patches_2d(x_BxHxWxC: jax.Array, kernel: Sequence[int], stride: Sequence[int] = (1, 1),
               padding: Sequence[Padding] = (0, 0), dilation: Sequence[int] = (1, 1),
               pad_value: float = 0.0) -> jax.Array:
    """The windows of an image: ``B x H' x W' x Kh x Kw x C``, rows and columns chosen as in 1-D."""
    pads = [padding_amounts(padding[a], x_BxHxWxC.shape[1 + a], kernel[a], stride[a], dilation[a]) for a in (0, 1)]
    x_pad = jnp.pad(x_BxHxWxC, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=pad_value)
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
    pads = padding_amounts(padding, x_BxLxC.shape[1], w_KxCxO.shape[0], stride, dilation)
    return lax.conv_general_dilated(x_BxLxC, w_KxCxO, (stride,), [pads], rhs_dilation=(dilation,),
                                    dimension_numbers=("NWC", "WIO", "NWC"))


def conv2d_xla(x_BxHxWxC: jax.Array, w_KhxKwxCxO: jax.Array, stride: Sequence[int] = (1, 1),
               padding: Sequence[Padding] = (0, 0), dilation: Sequence[int] = (1, 1)) -> jax.Array:
    """The same 2-D layer by XLA's convolution (NHWC, HWIO): what the models run."""
    pads = [padding_amounts(padding[a], x_BxHxWxC.shape[1 + a], w_KhxKwxCxO.shape[a], stride[a], dilation[a])
            for a in (0, 1)]
    return lax.conv_general_dilated(x_BxHxWxC, w_KhxKwxCxO, tuple(stride), pads,
                                    rhs_dilation=tuple(dilation), dimension_numbers=("NHWC", "HWIO", "NHWC"))


__all__ = ["PADDING_MODES", "conv1d", "conv1d_xla", "conv2d", "conv2d_xla", "output_size", "pad_pair",
           "padding_amounts", "patches_1d",
           "patches_2d", "window_indices"]
