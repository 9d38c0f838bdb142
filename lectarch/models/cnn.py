"""Convolutional networks: the layer list of a slide, run by XLA, and the small CNN for small images.

A network's feature extractor is written as the lecture writes it, a list of layers::

    Conv(1, 16, kernel=3, padding=1), ReLU(), Pool(2),
    Conv(16, 32, kernel=3, padding=1), ReLU(), Pool(2),

``Features`` turns such a list into an ``nnx.Module`` (NHWC; convolutions by
``lax.conv_general_dilated``, max pooling as a max of strided slices: fast paths that
``lectarch.ops`` checks against its first-principles versions and ``lax.reduce_window``), reports
the receptive-field geometry of every layer (``receptive_field_layers``) and returns every layer's feature maps for
the pictures. ``SmallCNN`` is conv-pool-conv-pool-dense; ``lectarch.models.alexnet`` uses the same
pieces for the lecture's AlexNet.
"""

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx
from jax import lax

from lectarch.config.errors import ConfigError
from lectarch.config.rules import NON_NEGATIVE_INT, POSITIVE_INT, PROBABILITY, Each, OneOf
from lectarch.data.spec import DataSpec
from lectarch.models.dtypes import DTYPES
from lectarch.ops import receptive_field as rf
from lectarch.ops.pool import max_pool2d_slices


@dataclasses.dataclass(frozen=True)
class Conv:
    """A 2-D convolution (cross-correlation) ``in_ch -> out_ch``, square kernel, symmetric padding."""

    in_ch: int
    out_ch: int
    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1


@dataclasses.dataclass(frozen=True)
class Pool:
    """Max (or average) pooling over ``window x window``, every ``stride`` (default: the window)."""

    window: int
    stride: int | None = None
    padding: int = 0
    kind: str = "max"


@dataclasses.dataclass(frozen=True)
class ReLU:
    pass


def _avg_pool(x, p: Pool):
    pads = [(0, 0), (p.padding, p.padding), (p.padding, p.padding), (0, 0)]
    win, st = (1, p.window, p.window, 1), (1, p.stride or p.window, p.stride or p.window, 1)
    total = lax.reduce_window(x, 0.0, lax.add, win, st, pads)
    return total / (p.window * p.window)


class Features(nnx.Module):
    """A stack of ``Conv`` / ``ReLU`` / ``Pool`` layers on ``B x H x W x C`` images."""

    def __init__(self, layers: Sequence, *, dtype: str = "float32", rngs: nnx.Rngs):
        self.layers = tuple(layers)
        self.dtype = dtype
        self.convs = nnx.List([
            nnx.Conv(L.in_ch, L.out_ch, (L.kernel, L.kernel), L.stride, padding=[(L.padding, L.padding)] * 2,
                     kernel_dilation=L.dilation, dtype=DTYPES[dtype], param_dtype=jnp.float32, rngs=rngs)
            for L in self.layers if isinstance(L, Conv)])

    def feature_maps(self, x_BxHxWxC: jax.Array) -> list[tuple[str, jax.Array]]:
        """``(name, maps)`` after every convolution (with its ReLU) and every pooling."""
        h = jnp.asarray(x_BxHxWxC, DTYPES[self.dtype])
        out, names, convs = [], iter(self.layer_names()), iter(self.convs)
        for L in self.layers:
            if isinstance(L, ReLU):
                h = jax.nn.relu(h)
                out[-1] = (out[-1][0], h)  # a convolution's maps are shown after its ReLU
                continue
            if isinstance(L, Conv):
                h = next(convs)(h)
            elif L.kind == "max":
                h = max_pool2d_slices(h, (L.window,) * 2, (L.stride or L.window,) * 2, (L.padding,) * 2)
            else:
                h = _avg_pool(h, L)
            out.append((next(names), h))
        return out

    def __call__(self, x_BxHxWxC: jax.Array) -> jax.Array:
        return self.feature_maps(x_BxHxWxC)[-1][1]

    def receptive_field_layers(self) -> list[rf.Layer]:
        """The geometry of every convolution and pooling, for ``lectarch.ops.receptive_field``."""
        return [rf.Layer(n, L.kernel, L.stride, L.padding, L.dilation) if isinstance(L, Conv) else
                rf.Layer(n, L.window, L.stride or L.window, L.padding) for n, L in self._named()]

    def layer_names(self) -> list[str]:
        """``conv1, pool1, ...``: the names ``feature_maps`` gives, in its order."""
        return [n for n, _ in self._named()]

    def _named(self):
        n_conv = n_pool = 0
        for L in self.layers:
            if isinstance(L, Conv):
                n_conv += 1
                yield f"conv{n_conv}", L
            elif isinstance(L, Pool):
                n_pool += 1
                yield f"pool{n_pool}", L

    def output_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """``(H', W', C')`` of the last feature maps (a ConfigError if the image is too small)."""
        layers = self.receptive_field_layers()
        try:
            h, w = (rf.receptive_fields(layers, n)[-1].output_size for n in (height, width))
        except ValueError as e:
            raise ConfigError(f"input images of {height}x{width} are too small for this network: {e}") from None
        return h, w, [L.out_ch for L in self.layers if isinstance(L, Conv)][-1]


def image_shape(spec: DataSpec, model_name: str) -> tuple[int, int, int]:
    if len(spec.input_shape) != 3:
        raise ConfigError(f"model {model_name!r} needs images (H, W, C) but the data gives inputs of shape "
                          f"{spec.input_shape}; for digits set --config.data.layout=image")
    return tuple(spec.input_shape)


# ---------------------------------------------------------------------------------------------
# The small CNN: conv-pool-conv-pool-dense.

CONFIG_RULES = {
    "channels": Each(POSITIVE_INT, min_len=1),
    "kernel_size": POSITIVE_INT,
    "pool": OneOf(("max", "avg", "none")),
    "pool_size": POSITIVE_INT,
    "hidden": NON_NEGATIVE_INT,
    "dropout": PROBABILITY,
    "dtype": OneOf(tuple(DTYPES)),
}


def default_config() -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict()
    m.name = "cnn"
    m.channels = (16, 32)  # one conv(-pool) block per entry
    m.kernel_size = 3  # odd: "same" padding kernel_size // 2
    m.pool = "max"  # max | avg | none (no pooling: the dense layer sees every position)
    m.pool_size = 2
    m.hidden = 0  # 0: the dense layer is the classifier; > 0: one hidden dense layer of this width
    m.dropout = 0.0
    m.dtype = "float32"  # compute dtype; parameters stay float32
    return m


def validate_config(cfg: ml_collections.ConfigDict) -> None:
    if cfg.model.kernel_size % 2 == 0:
        raise ConfigError(f"config.model.kernel_size={cfg.model.kernel_size} is not allowed: must be odd "
                          f"(same padding)")
    if cfg.data.name == "digits" and cfg.data.get("layout", "flat") != "image":
        raise ConfigError("config.data.layout='flat' is not allowed for model 'cnn': must be 'image'")


def small_cnn_layers(in_ch: int, channels: Sequence[int], kernel: int, pool: str, pool_size: int) -> list:
    layers, prev = [], in_ch
    for c in channels:
        layers += [Conv(prev, c, kernel, padding=kernel // 2), ReLU()]
        if pool != "none":
            layers.append(Pool(pool_size, kind=pool))
        prev = c
    return layers


class SmallCNN(nnx.Module):
    """``[Conv -> ReLU -> Pool] x len(channels) -> flatten -> (Dense -> ReLU ->) Dense -> logits``."""

    def __init__(self, image_HxWxC: tuple[int, int, int], num_outputs: int, *, channels: Sequence[int],
                 kernel_size: int, pool: str, pool_size: int, hidden: int, dropout: float, dtype: str,
                 rngs: nnx.Rngs):
        H, W, C = image_HxWxC
        self.features = Features(small_cnn_layers(C, channels, kernel_size, pool, pool_size), dtype=dtype, rngs=rngs)
        flat = int(np.prod(self.features.output_shape(H, W)))
        dt = DTYPES[dtype]
        self.hidden = nnx.Linear(flat, hidden, dtype=dt, rngs=rngs) if hidden else None
        self.out = nnx.Linear(hidden or flat, num_outputs, dtype=dt, rngs=rngs)
        self.dropout = nnx.Dropout(dropout)

    def __call__(self, x_BxHxWxC: jax.Array, *, train: bool = False, rngs: nnx.Rngs | None = None) -> jax.Array:
        h = self.features(x_BxHxWxC)
        h = h.reshape(h.shape[0], -1)
        if self.hidden is not None:
            h = self.dropout(jax.nn.relu(self.hidden(h)), deterministic=not train, rngs=rngs)
        return self.out(h)

    def receptive_field_layers(self) -> list[rf.Layer]:
        """Every convolution and pooling, in order (``lectarch receptive-field``)."""
        return self.features.receptive_field_layers()

    def pictures(self, inputs: jax.Array) -> dict[str, np.ndarray]:
        """The first layer's filters and every layer's feature maps for the first input."""
        from lectarch.viz.filters import conv_pictures

        return conv_pictures(self.features, inputs)


def build(cfg: ml_collections.ConfigDict, spec: DataSpec, rngs: nnx.Rngs) -> SmallCNN:
    return SmallCNN(image_shape(spec, "cnn"), spec.num_outputs, channels=tuple(cfg.channels),
                    kernel_size=cfg.kernel_size, pool=cfg.pool, pool_size=cfg.pool_size, hidden=cfg.hidden,
                    dropout=cfg.dropout, dtype=cfg.dtype, rngs=rngs)

