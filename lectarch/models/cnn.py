"""Convolutional networks: the layer list of a slide, run by XLA, and the small CNN for images and signals.

A network's feature extractor is written as the lecture writes it, a list of layers::

    Conv(1, 16, kernel=3, padding=1), ReLU(), Pool(2),
    Conv(16, 32, kernel=3, padding=1), ReLU(), Pool(2),

``Features`` turns such a list into an ``nnx.Module`` (NHWC; convolutions by
``lax.conv_general_dilated``, max pooling as a max of strided slices: fast paths that
``lectarch.ops`` checks against its first-principles versions and ``lax.reduce_window``), reports
the receptive-field geometry of every layer (``receptive_field_layers``) and returns every layer's feature maps for
the pictures. ``SmallCNN`` is conv-pool-conv-pool-dense; ``lectarch.models.alexnet`` uses the same
pieces for the lecture's AlexNet.

**1-D.** The same layers act on signals ``B x T x C`` when ``Features(..., dims=1)``: kernels of
``K`` taps, 1-D max/average pooling, and a padding that may be asymmetric, ``(left, right)``:
"same" pads ``(d(K-1)//2, d(K-1) - d(K-1)//2)``, "causal" pads ``(d(K-1), 0)`` (output ``t`` reads
inputs ``<= t`` only), "valid" pads nothing. ``model.dims`` = 0 picks 1-D for inputs ``(T, C)`` (or
``(T,)``, one channel) and 2-D for ``(H, W, C)``; 1 or 2 insists (a 2-D network on inputs that are
not images is a one-line error naming the data's shape). A layer's padding may also be a mode,
``"SAME"`` / ``"VALID"`` / ``"CAUSAL"`` (``lectarch.ops.conv.padding_amounts``).

Precision and memory follow the keys every built-in model has: ``model.dtype`` (compute dtype;
parameters float32: ``lectarch.models.dtypes``) and ``model.remat`` (a stage, a convolution with its
ReLU and pooling, recomputed in the backward pass: ``lectarch.models.remat``).
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
from lectarch.models.dtypes import DTYPES, RENAMED, compute_dtype
from lectarch.models.remat import REMAT, remat
from lectarch.ops import receptive_field as rf
from lectarch.ops.conv import Padding, pad_pair, padding_amounts
from lectarch.ops.pool import max_pool2d_slices


@dataclasses.dataclass(frozen=True)
class Conv:
    """A convolution (cross-correlation) ``in_ch -> out_ch``: ``kernel`` taps per spatial axis,
    ``padding`` ``p`` or ``(before, after)`` on every axis."""

    in_ch: int
    out_ch: int
    kernel: int
    stride: int = 1
    padding: Padding = 0
    dilation: int = 1


@dataclasses.dataclass(frozen=True)
class Pool:
    """Max (or average) pooling over ``window x window``, every ``stride`` (default: the window)."""

    window: int
    stride: int | None = None
    padding: Padding = 0
    kind: str = "max"


@dataclasses.dataclass(frozen=True)
class ReLU:
    pass


def padding_for(mode: str, kernel: int, dilation: int = 1) -> tuple[int, int]:
    """``(before, after)`` zeros for "same" (output length = input length at stride 1), "causal", "valid"."""
    span = dilation * (kernel - 1)
    return {"same": (span // 2, span - span // 2), "causal": (span, 0), "valid": (0, 0)}[mode]


def _avg_pool(x: jax.Array, p: Pool, dims: int) -> jax.Array:
    """Average over each window of ``x`` (``B x T x C`` or ``B x H x W x C``), zeros counted."""
    stride = p.stride or p.window
    pads = [(0, 0)] + [padding_amounts(p.padding, n, p.window, stride) for n in x.shape[1:-1]] + [(0, 0)]
    win, st = (1,) + (p.window,) * dims + (1,), (1,) + (stride,) * dims + (1,)
    total = lax.reduce_window(x, np.zeros((), x.dtype), lax.add, win, st, pads)  # a constant: remat-safe
    return total / p.window ** dims


def _max_pool(x: jax.Array, p: Pool, dims: int) -> jax.Array:
    """Max over each window of ``x`` (``B x T x C`` or ``B x H x W x C``)."""
    if dims == 2:
        return max_pool2d_slices(x, (p.window,) * 2, (p.stride or p.window,) * 2, (p.padding,) * 2)
    # a signal is an image one column wide: the same strided-slice max (fast gradient on CPU)
    y_BxTx1xC = max_pool2d_slices(x[:, :, None], (p.window, 1), (p.stride or p.window, 1), (p.padding, 0))
    return y_BxTx1xC[:, :, 0]


def _conv_padding(padding: Padding, dims: int):
    """What ``nnx.Conv`` takes: a mode as XLA spells it, or ``(before, after)`` per axis."""
    return padding.upper() if isinstance(padding, str) else [pad_pair(padding)] * dims


def _stages(layers: Sequence) -> list[list]:
    """The layers cut before every convolution: a stage is a convolution with its ReLU and pooling."""
    stages: list[list] = []
    for L in layers:
        if isinstance(L, Conv) or not stages:
            stages.append([])
        stages[-1].append(L)
    return stages


class Features(nnx.Module):
    """A stack of ``Conv`` / ``ReLU`` / ``Pool`` layers on ``B x H x W x C`` images (``dims=2``) or
    ``B x T x C`` signals (``dims=1``): ``x`` below is either."""

    def __init__(self, layers: Sequence, *, dtype: str = "float32", dims: int = 2, remat: str = "none",
                 rngs: nnx.Rngs):
        self.layers = tuple(layers)
        self.dtype, self.dims, self.remat = dtype, dims, remat
        self.convs = nnx.List([
            nnx.Conv(L.in_ch, L.out_ch, (L.kernel,) * dims, L.stride, padding=_conv_padding(L.padding, dims),
                     kernel_dilation=L.dilation, dtype=compute_dtype(dtype), param_dtype=jnp.float32, rngs=rngs)
            for L in self.layers if isinstance(L, Conv)])

    def _layer(self, L, conv: nnx.Conv | None, h: jax.Array) -> jax.Array:
        if isinstance(L, ReLU):
            return jax.nn.relu(h)
        if isinstance(L, Conv):
            return conv(h)
        return _max_pool(h, L, self.dims) if L.kind == "max" else _avg_pool(h, L, self.dims)

    def feature_maps(self, x: jax.Array) -> list[tuple[str, jax.Array]]:
        """``(name, maps)`` after every convolution (with its ReLU) and every pooling."""
        h = jnp.asarray(x, compute_dtype(self.dtype))
        out, names, convs = [], iter(self.layer_names()), iter(self.convs)
        for L in self.layers:
            h = self._layer(L, next(convs) if isinstance(L, Conv) else None, h)
            if isinstance(L, ReLU):
                out[-1] = (out[-1][0], h)  # a convolution's maps are shown after its ReLU
            else:
                out.append((next(names), h))
        return out

    def __call__(self, x: jax.Array) -> jax.Array:
        """The last feature maps, stage by stage (each stage recomputed in the backward pass under remat)."""
        h = jnp.asarray(x, compute_dtype(self.dtype))
        convs = iter(self.convs)
        for stage in _stages(self.layers):
            h = remat(self._stage_call(stage), self.remat)(h, *([next(convs)] if isinstance(stage[0], Conv) else []))
        return h

    def _stage_call(self, stage: list):
        """``(h, *conv) -> h`` after the stage's layers (what remat wraps; nnx.remat takes no keywords)."""
        def run(h, *conv):
            for L in stage:
                h = self._layer(L, conv[0] if isinstance(L, Conv) else None, h)
            return h

        return run

    @property
    def receptive_field_dims(self) -> int:
        return self.dims

    @property
    def receptive_field_channels(self) -> int:
        return next(L.in_ch for L in self.layers if isinstance(L, Conv))

    def receptive_field_layers(self) -> list[rf.Layer]:
        """The geometry of every convolution and pooling, for ``lectarch.ops.receptive_field``."""
        return [rf.Layer(n, L.kernel, L.stride, L.padding, L.dilation) if isinstance(L, Conv) else
                rf.Layer(n, L.window, L.stride or L.window, L.padding) for n, L in self._named()]

    def receptive_field_maps(self, x: jax.Array) -> list[jax.Array]:
        """The output of every layer of ``receptive_field_layers`` for ``x``."""
        return [m for _, m in self.feature_maps(x)]

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

    def output_shape(self, *sizes: int) -> tuple[int, ...]:
        """``(H', W', C')`` (or ``(T', C')``) of the last feature maps (a ConfigError if the input is too small)."""
        layers = self.receptive_field_layers()
        try:
            out = tuple(rf.receptive_fields(layers, n)[-1].output_size for n in sizes)
        except ValueError as e:
            raise ConfigError(f"inputs of {'x'.join(map(str, sizes))} are too small for this network: {e}") from None
        return out + ([L.out_ch for L in self.layers if isinstance(L, Conv)][-1],)


def signal_shape(spec: DataSpec) -> tuple[int, int]:
    """``(T, C)`` of the data's inputs: ``(T,)`` is one channel."""
    shape = tuple(spec.input_shape)
    return (shape[0], 1) if len(shape) == 1 else shape


def input_dims(spec: DataSpec, dims: int) -> int:
    """1 for signals ``(T, C)`` / ``(T,)``, 2 for images ``(H, W, C)``, unless ``dims`` says which."""
    return dims or (2 if len(spec.input_shape) == 3 else 1)


def image_shape(spec: DataSpec, model_name: str) -> tuple[int, int, int]:
    if len(spec.input_shape) != 3:
        raise ConfigError(f"model {model_name!r} needs images (H, W, C) but the data gives inputs of shape "
                          f"{spec.input_shape}; give the data an image layout (e.g. --config.data.layout=image)")
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
    "dims": OneOf((0, 1, 2)),
    "padding": OneOf(("same", "causal", "valid")),
    "stride": POSITIVE_INT,
    "dilation": POSITIVE_INT,
    "remat": OneOf(REMAT),
    **RENAMED,
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
    m.dims = 0  # 0: from the data's shape (inputs (T, C) or (T,): 1-D; (H, W, C): 2-D); 1 or 2 to insist
    m.padding = "same"  # same | valid | causal (1-D only: output t reads inputs <= t)
    m.stride = 1  # of every convolution
    m.dilation = 1  # of every convolution
    m.remat = "none"  # none | block | block_save_dots: recompute each stage in the backward pass
    return m


def validate_config(cfg: ml_collections.ConfigDict) -> None:
    m = cfg.model
    if m.kernel_size % 2 == 0 and m.padding == "same" and m.get("dims", 0) != 1:
        raise ConfigError(f"config.model.kernel_size={m.kernel_size} is not allowed: must be odd "
                          f"(same padding)")
    if m.get("dims", 0) == 2 and m.get("padding", "same") == "causal":
        raise ConfigError("config.model.padding='causal' is not allowed with model.dims=2: causal is 1-D only")


def small_cnn_layers(in_ch: int, channels: Sequence[int], kernel: int, pool: str, pool_size: int,
                     padding: str = "same", stride: int = 1, dilation: int = 1) -> list:
    layers, prev = [], in_ch
    pad = padding_for(padding, kernel, dilation)
    pad = pad[0] if pad[0] == pad[1] else pad
    for c in channels:
        layers += [Conv(prev, c, kernel, stride, pad, dilation), ReLU()]
        if pool != "none":
            layers.append(Pool(pool_size, kind=pool))
        prev = c
    return layers


class FeatureStackFields:
    """The ``ReceptiveFields`` capability of a model whose convolutions and poolings are its
    ``self.features`` (a ``Features`` stack): every member answered by the stack."""

    @property
    def receptive_field_dims(self) -> int:
        return self.features.receptive_field_dims

    @property
    def receptive_field_channels(self) -> int:
        return self.features.receptive_field_channels

    def receptive_field_layers(self) -> list[rf.Layer]:
        """Every convolution and pooling, in order (``lectarch receptive-field``)."""
        return self.features.receptive_field_layers()

    def receptive_field_maps(self, x: jax.Array) -> list[jax.Array]:
        return self.features.receptive_field_maps(x)


class SmallCNN(FeatureStackFields, nnx.Module):
    """``[Conv -> ReLU -> Pool] x len(channels) -> flatten -> (Dense -> ReLU ->) Dense -> logits``.

    ``input_shape`` is ``(H, W, C)`` (2-D) or ``(T, C)`` (1-D: inputs ``(B, T)`` gain a channel axis).
    """

    def __init__(self, input_shape: tuple[int, ...], num_outputs: int, *, channels: Sequence[int],
                 kernel_size: int, pool: str, pool_size: int, hidden: int, dropout: float, dtype: str,
                 padding: str = "same", stride: int = 1, dilation: int = 1, remat: str = "none", rngs: nnx.Rngs):
        *sizes, C = input_shape
        layers = small_cnn_layers(C, channels, kernel_size, pool, pool_size, padding, stride, dilation)
        self.features = Features(layers, dtype=dtype, dims=len(sizes), remat=remat, rngs=rngs)
        flat = int(np.prod(self.features.output_shape(*sizes)))
        dt = compute_dtype(dtype)
        self.hidden = nnx.Linear(flat, hidden, dtype=dt, rngs=rngs) if hidden else None
        self.out = nnx.Linear(hidden or flat, num_outputs, dtype=dt, rngs=rngs)
        self.dropout = nnx.Dropout(dropout)

    def __call__(self, x: jax.Array, *, train: bool = False, rngs: nnx.Rngs | None = None) -> jax.Array:
        """Logits ``B x classes`` of images ``B x H x W x C`` (2-D) or signals ``B x T x C`` / ``B x T`` (1-D)."""
        h = self.features(self.with_channels(x))
        h_BxF = h.reshape(h.shape[0], -1)
        if self.hidden is not None:
            h_BxF = self.dropout(jax.nn.relu(self.hidden(h_BxF)), deterministic=not train, rngs=rngs)
        return self.out(h_BxF)

    def with_channels(self, x: jax.Array) -> jax.Array:
        """A 1-D network's ``B x T`` inputs as ``B x T x 1``."""
        return x[..., None] if x.ndim == self.features.dims + 1 else x

    def pictures(self, inputs: jax.Array) -> dict:
        """The first layer's filters and every layer's feature maps for the first input (1-D: filters
        as curves and feature maps as a channels x time heat map under the signal)."""
        if self.features.dims == 1:
            from lectarch.viz.signals import conv1d_pictures

            return conv1d_pictures(self.features, self.with_channels(jnp.asarray(inputs)))
        from lectarch.viz.filters import conv_pictures

        return conv_pictures(self.features, inputs)


def build(cfg: ml_collections.ConfigDict, spec: DataSpec, rngs: nnx.Rngs) -> SmallCNN:
    dims = input_dims(spec, cfg.get("dims", 0))
    shape = image_shape(spec, "cnn") if dims == 2 else signal_shape(spec)
    if dims == 1 and len(shape) != 2:
        raise ConfigError(f"config.model.dims=1 needs signals (T, C) or (T,) but the data gives inputs of shape "
                          f"{spec.input_shape}; read images as sequences with --config.data.as_sequence=rows")
    return SmallCNN(shape, spec.num_outputs, channels=tuple(cfg.channels), kernel_size=cfg.kernel_size,
                    pool=cfg.pool, pool_size=cfg.pool_size, hidden=cfg.hidden, dropout=cfg.dropout, dtype=cfg.dtype,
                    padding=cfg.get("padding", "same"), stride=cfg.get("stride", 1),
                    dilation=cfg.get("dilation", 1), remat=cfg.get("remat", "none"), rngs=rngs)

