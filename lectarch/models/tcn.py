"""Temporal convolutional network (Bai, Kolter and Koltun 2018, figure 1).

Read from the bottom of the figure up::

    inputs x (B, T, F), or tokens (B, T) embedded
    for level l = 0 .. L-1, dilation d = 2^l:             (b) one residual block
        h = Dropout(ReLU(WeightNorm(CausalConv(x, k, d))))
        h = Dropout(ReLU(WeightNorm(CausalConv(h, k, d))))
        x = ReLU(h + (x  or  1x1 conv of x when the width changes))
    head: many_to_one reads the last step, many_to_many every step

A causal convolution pads ``d (k - 1)`` zeros on the left only, so output ``t`` reads inputs
``<= t``. With ``c = 2`` convolutions per block the receptive field of the top is

    r = 1 + c (k - 1) (2^L - 1)            (a dilated stack covers T with L ~ log2(T / (c (k - 1)))).

Weight normalisation (Salimans and Kingma 2016) is written out: each filter ``w = g v / ||v||``
with ``v`` and ``g`` learned (``model.weight_norm=False``: plain ``w``). Dropout drops whole
channels for all time steps at once (spatial dropout, as the paper describes).

``model.dtype`` is the compute dtype of the convolutions and dense layers (the parameters and the
weight norms stay float32: ``lectarch.models.dtypes``); ``model.remat`` recomputes each residual
block in the backward pass (``lectarch.models.remat``).
"""

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx

from lectarch.config.rules import POSITIVE_INT, PROBABILITY, OneOf
from lectarch.data.spec import DataSpec
from lectarch.models.cnn import padding_for
from lectarch.models.dtypes import DTYPES, RENAMED, compute_dtype
from lectarch.models.remat import REMAT, remat
from lectarch.ops import receptive_field as rf
from lectarch.ops.conv import conv1d_xla

CONFIG_RULES = {
    "channels": POSITIVE_INT,
    "levels": POSITIVE_INT,
    "kernel_size": POSITIVE_INT,
    "dropout": PROBABILITY,
    "weight_norm": OneOf((True, False)),
    "family": OneOf(("many_to_one", "many_to_many")),
    "embed_dim": POSITIVE_INT,
    "dtype": OneOf(tuple(DTYPES)),
    "remat": OneOf(REMAT),
    **RENAMED,
}


def default_config() -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict()
    m.name = "tcn"
    m.channels = 32  # width of every level
    m.levels = 4  # residual blocks; block l has dilation 2^l
    m.kernel_size = 3
    m.dropout = 0.0
    m.weight_norm = True
    m.family = "many_to_one"  # many_to_one: last step -> output; many_to_many: every step
    m.embed_dim = 16  # token inputs (data with an input vocabulary)
    m.dtype = "float32"  # compute dtype: float32 | bfloat16 (parameters stay float32)
    m.remat = "none"  # none | block | block_save_dots: recompute each residual block in the backward pass
    return m


def receptive_field(levels: int, kernel_size: int, convs_per_level: int = 2) -> int:
    """``1 + c (k - 1) (2^L - 1)``: how many past steps the top of the network sees."""
    return 1 + convs_per_level * (kernel_size - 1) * (2 ** levels - 1)


class CausalConv(nnx.Module):
    """``y[t] = sum_k x[t - d (K - 1 - k)] w[k]``, with ``w = g v / ||v||`` under weight normalisation."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, dilation: int, *, weight_norm: bool,
                 dtype: str = "float32", rngs: nnx.Rngs):
        v_KxCxO = jax.random.normal(rngs.params(), (kernel, in_ch, out_ch), jnp.float32) / math.sqrt(kernel * in_ch)
        self.v = nnx.Param(v_KxCxO)
        self.g = nnx.Param(jnp.linalg.norm(v_KxCxO.reshape(-1, out_ch), axis=0)) if weight_norm else None
        self.b = nnx.Param(jnp.zeros((out_ch,), jnp.float32))
        self.kernel, self.dilation, self.dtype = kernel, dilation, dtype

    def weight(self) -> jax.Array:
        """``w_KxCxO = g v / ||v||`` (each output filter's norm, in the parameters' float32)."""
        v_KxCxO = self.v[...]
        if self.g is None:
            return v_KxCxO
        return self.g[...][None, None, :] * v_KxCxO / jnp.sqrt(jnp.sum(v_KxCxO * v_KxCxO, axis=(0, 1), keepdims=True))

    def __call__(self, x_BxTxC: jax.Array) -> jax.Array:
        pad = padding_for("causal", self.kernel, self.dilation)
        dt = compute_dtype(self.dtype)
        y_BxTxO = conv1d_xla(x_BxTxC.astype(dt), self.weight().astype(dt), 1, pad, self.dilation)
        return y_BxTxO + self.b[...].astype(dt)[None, None, :]

    def layer(self, name: str) -> rf.Layer:
        return rf.Layer(name, self.kernel, 1, padding_for("causal", self.kernel, self.dilation), self.dilation)


class TemporalBlock(nnx.Module):
    """Figure 1 (b): two dilated causal convolutions with ReLU and dropout, and a residual connection."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, dilation: int, *, dropout: float, weight_norm: bool,
                 dtype: str = "float32", rngs: nnx.Rngs):
        kw = dict(weight_norm=weight_norm, dtype=dtype, rngs=rngs)
        self.conv1 = CausalConv(in_ch, out_ch, kernel, dilation, **kw)
        self.conv2 = CausalConv(out_ch, out_ch, kernel, dilation, **kw)
        self.downsample = (nnx.Linear(in_ch, out_ch, dtype=compute_dtype(dtype), rngs=rngs)
                           if in_ch != out_ch else None)  # 1x1 conv
        self.dropout = nnx.Dropout(dropout, broadcast_dims=(1,))  # whole channels, every time step

    def __call__(self, x_BxTxC: jax.Array, *, train: bool = False, rngs: nnx.Rngs | None = None):
        """The block's output, and the first convolution's maps (for pictures and receptive fields)."""
        h1 = self.dropout(jax.nn.relu(self.conv1(x_BxTxC)), deterministic=not train, rngs=rngs)
        h2 = self.dropout(jax.nn.relu(self.conv2(h1)), deterministic=not train, rngs=rngs)
        residual = x_BxTxC if self.downsample is None else self.downsample(x_BxTxC)
        return jax.nn.relu(h2 + residual), h1


class TCN(nnx.Module):
    """Embedding or features -> ``levels`` temporal blocks (dilations 1, 2, 4, ...) -> dense head."""

    def __init__(self, spec: DataSpec, *, channels: int, levels: int, kernel_size: int, dropout: float,
                 weight_norm: bool, family: str, embed_dim: int, dtype: str = "float32", remat: str = "none",
                 rngs: nnx.Rngs):
        vocab = spec.input_vocab
        dt = compute_dtype(dtype)
        self.embed = nnx.Embed(vocab, embed_dim, dtype=dt, rngs=rngs) if vocab else None
        in_ch = embed_dim if vocab else (spec.input_shape[-1] if len(spec.input_shape) == 2 else 1)
        self.blocks = nnx.List([TemporalBlock(in_ch if l == 0 else channels, channels, kernel_size, 2 ** l,
                                              dropout=dropout, weight_norm=weight_norm, dtype=dtype, rngs=rngs)
                                for l in range(levels)])
        self.head = nnx.Linear(channels, spec.num_outputs, dtype=dt, rngs=rngs)
        self.family, self.dtype, self.remat, self.in_channels = family, dtype, remat, in_ch

    def signal(self, inputs: jax.Array) -> jax.Array:
        """``B x T x C`` in the compute dtype: tokens embedded, a single channel given its axis."""
        if self.embed is not None:
            return self.embed(inputs)
        x = jnp.asarray(inputs, compute_dtype(self.dtype))
        return x[..., None] if x.ndim == 2 else x

    def feature_maps(self, x_BxTxC: jax.Array, *, train: bool = False,
                     rngs: nnx.Rngs | None = None) -> list[tuple[str, jax.Array]]:
        """``(name, maps)`` after each block's first convolution and after each block."""
        out, h_BxTxC = [], x_BxTxC
        run = remat(lambda block, h, rngs: block(h, train=train, rngs=rngs), self.remat)
        for l, block in enumerate(self.blocks):
            h_BxTxC, h1_BxTxC = run(block, h_BxTxC, rngs)
            out += [(f"level{l + 1}.conv1", h1_BxTxC), (f"level{l + 1}.conv2", h_BxTxC)]
        return out

    def __call__(self, inputs, *, train: bool = False, rngs: nnx.Rngs | None = None) -> jax.Array:
        h_BxTxC = self.feature_maps(self.signal(inputs), train=train, rngs=rngs)[-1][1]
        return self.head(h_BxTxC[:, -1] if self.family == "many_to_one" else h_BxTxC)

    receptive_field_dims = 1

    @property
    def receptive_field_channels(self) -> int:
        return self.in_channels

    def receptive_field_layers(self) -> list[rf.Layer]:
        return [b.conv1.layer(f"level{l + 1}.conv1") if i == 0 else b.conv2.layer(f"level{l + 1}.conv2")
                for l, b in enumerate(self.blocks) for i in range(2)]

    def receptive_field_maps(self, x_BxTxC: jax.Array) -> list[jax.Array]:
        """Each block's first convolution and each block's output (the second convolution's field)."""
        return [m for _, m in self.feature_maps(x_BxTxC)]

    def pictures(self, inputs) -> dict:
        """The first convolution's filters as curves and every level's maps under the input signal."""
        from lectarch.viz.signals import signal_pictures

        x = self.signal(jnp.asarray(inputs)[:1])
        maps = [(n, m) for n, m in self.feature_maps(x) if n.endswith("conv2")]
        return signal_pictures(x, self.blocks[0].conv1.weight(), maps)


def build(cfg: ml_collections.ConfigDict, spec: DataSpec, rngs: nnx.Rngs) -> TCN:
    return TCN(spec, channels=cfg.channels, levels=cfg.levels, kernel_size=cfg.kernel_size, dropout=cfg.dropout,
               weight_norm=cfg.weight_norm, family=cfg.family, embed_dim=cfg.embed_dim,
               dtype=cfg.get("dtype", "float32"), remat=cfg.get("remat", "none"), rngs=rngs)

