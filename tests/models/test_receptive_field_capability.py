"""The ``ReceptiveFields`` capability alone computes and measures a network's receptive fields.

Every built-in convolutional model declares its dimensionality, its input channels, its layers and
each layer's maps; the measurement below reads nothing else (no model name, no ``features``
attribute), as ``lectarch receptive-field --check`` does. String paddings ("SAME", "VALID",
"CAUSAL") give the fields of the zeros XLA pads for them.
"""

import jax
import jax.numpy as jnp
import pytest
from flax import nnx
from jax import lax

from lectarch.data.spec import DataSpec
from lectarch.models import build_model
from lectarch.models.capabilities import ReceptiveFields
from lectarch.models.cnn import Conv, Features, Pool, ReLU
from lectarch.ops import receptive_field as rf
from lectarch.ops.conv import output_size, padding_amounts
from tests.helpers import config


def measure(model, size: int) -> list[str]:
    """The capability's layers against the support of its maps' input gradients (positive weights)."""
    assert isinstance(model, ReceptiveFields)
    dims, channels = model.receptive_field_dims, model.receptive_field_channels
    rows = rf.receptive_fields(model.receptive_field_layers(), size)
    positive = rf.positive_copy(model)
    shape = (size,) * dims + (channels,)
    maps = jax.eval_shape(positive.receptive_field_maps, jax.ShapeDtypeStruct((1, *shape), jnp.float32))
    assert len(maps) == len(rows) - 1  # one map per layer
    assert [m.shape[1] for m in maps] == [r.output_size for r in rows[1:]]
    compare = rf.compare if dims == 2 else rf.compare_1d
    return compare(positive.receptive_field_maps, shape, rows)


CASES = [
    ("cnn_digits", DataSpec((12, 12, 1), 10), (), 2),
    ("cnn1d_digits", DataSpec((40, 1), 10), (), 1),
    ("cnn1d_digits", DataSpec((40, 1), 10), ("model.padding=causal",), 1),
    ("tcn_adding", DataSpec((40, 2), 1), ("model.levels=3", "model.channels=4"), 1),
]


@pytest.mark.parametrize("name,spec,overrides,dims", CASES, ids=["cnn2d", "cnn1d", "cnn1d-causal", "tcn"])
def test_every_builtin_conv_model_is_measured_through_the_capability_alone(name, spec, overrides, dims):
    cfg = config(name, *overrides)
    model = nnx.eval_shape(lambda: build_model(cfg, spec, nnx.Rngs(0)))
    assert model.receptive_field_dims == dims
    assert model.receptive_field_channels == spec.input_shape[-1]
    report = measure(model, spec.input_shape[0])
    assert all(line.startswith("ok") for line in report), "\n".join(report)


def test_alexnet_declares_two_dimensions_three_channels_and_one_map_per_layer():
    model = nnx.eval_shape(lambda: build_model(config("alexnet_imagenette"), DataSpec((67, 67, 3), 10), nnx.Rngs(0)))
    assert (model.receptive_field_dims, model.receptive_field_channels) == (2, 3)
    graphdef, state = nnx.split(model)
    maps = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s).receptive_field_maps(x), state,
                          jax.ShapeDtypeStruct((1, 67, 67, 3), jnp.float32))
    rows = rf.receptive_fields(model.receptive_field_layers(), 67)
    assert [m.shape[1] for m in maps] == [r.output_size for r in rows[1:]]


@pytest.mark.parametrize("mode", ["SAME", "VALID", "CAUSAL", "same", "causal"])
@pytest.mark.parametrize("n,kernel,stride,dilation", [(10, 3, 1, 1), (10, 3, 2, 1), (11, 4, 3, 2), (7, 5, 2, 1)])
def test_padding_modes_pad_what_xla_pads(mode, n, kernel, stride, dilation):
    span = dilation * (kernel - 1) + 1
    if mode.upper() == "CAUSAL":  # XLA has no causal mode: d (K - 1) zeros before, none after
        want = (span - 1, 0)
    else:
        want = tuple(lax.padtype_to_pads((n,), (span,), (stride,), mode.upper())[0])
    assert padding_amounts(mode, n, kernel, stride, dilation) == want
    x = jnp.ones((1, n, 1))
    w = jnp.ones((kernel, 1, 1))
    y = lax.conv_general_dilated(x, w, (stride,), [want], rhs_dilation=(dilation,),
                                 dimension_numbers=("NWC", "WIO", "NWC"))
    assert output_size(n, kernel, stride, mode, dilation) == y.shape[1]


def test_a_1d_stack_with_string_paddings_is_measured_exactly():
    layers = [Conv(1, 3, 3, 2, "SAME"), ReLU(), Pool(2, padding="SAME"), Conv(3, 3, 3, 1, "CAUSAL"), ReLU(),
              Conv(3, 2, 2, 1, "VALID")]
    net = nnx.eval_shape(lambda: Features(layers, dims=1, rngs=nnx.Rngs(0)))
    report = measure(net, 23)
    assert all(line.startswith("ok") for line in report), "\n".join(report)
    assert "SAME" in rf.format_table(rf.receptive_fields(net.receptive_field_layers(), 23))


def test_a_2d_stack_with_string_paddings_is_measured_exactly():
    layers = [Conv(1, 2, 3, 2, "SAME"), ReLU(), Pool(3, 2, "SAME"), Conv(2, 2, 3, 1, "VALID")]
    net = nnx.eval_shape(lambda: Features(layers, dims=2, rngs=nnx.Rngs(0)))
    report = measure(net, 15)
    assert all(line.startswith("ok") for line in report), "\n".join(report)


def test_a_model_without_the_capability_is_not_one():
    model = nnx.eval_shape(lambda: build_model(config("mlp_digits"), DataSpec((64,), 10), nnx.Rngs(0)))
    assert not isinstance(model, ReceptiveFields)
