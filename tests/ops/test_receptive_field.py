"""Receptive fields: the analytic recursion against brute force, and against the measured support
of input gradients on every CNN that an experiment config in the repo builds."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lectarch.cli.receptive_field import abstract_model
from lectarch.data import input_shape_of
from lectarch.experiment import load_config
from lectarch.config.load import read_config_file
from lectarch.models import MODELS
from lectarch.models.capabilities import ReceptiveFields
from lectarch.ops import receptive_field as rf
from lectarch.ops.pool import max_pool2d_slices, max_pool2d_xla

IMAGE_DATA = ("digits", "tfds_images")  # the datasets of images: where a network may have receptive fields
CONFIGS = sorted((pathlib.Path(__file__).resolve().parents[2] / "experiments" / "configs").glob("*.py"))


def _brute_force_span(layers, n_in: int, unit: int) -> tuple[int, int]:
    """Follow the indices back layer by layer: the input positions (padding included) unit sees."""
    positions = {unit}
    for L in reversed(layers):
        lo = rf.pad_pair(L.padding)[0]
        positions = {L.stride * i + L.dilation * k - lo for i in positions for k in range(L.kernel)}
    return min(positions), max(positions)


@st.composite
def stacks(draw):
    layers = [rf.Layer(f"l{i}", draw(st.integers(1, 5)), draw(st.integers(1, 3)), draw(st.integers(0, 2)),
                       draw(st.integers(1, 2))) for i in range(draw(st.integers(1, 4)))]
    return layers, draw(st.integers(40, 80))


@given(stacks())
@settings(max_examples=30, deadline=None)
def test_analytic_recursion_equals_brute_force(case):
    layers, n = case
    try:
        rows = rf.receptive_fields(layers, n)
    except ValueError:
        return  # the stack leaves no output for this input
    for depth in range(1, len(layers) + 1):
        row = rows[depth]
        for unit in (0, row.output_size - 1):
            assert row.span(unit) == _brute_force_span(layers[:depth], n, unit)


def test_alexnet_table_at_224_worked_by_hand():
    # r: 11, then + (k - 1) * S: 11+2*4=19, 19+4*8=51, 51+2*8=67, 67+2*16=99, 131, 163, 195, 195+2*16=227.
    cfg = load_config(CONFIGS[0].parent / "alexnet_imagenette.py")
    rows = rf.receptive_fields(abstract_model(cfg, (224, 224, 3)).features.receptive_field_layers(), 224)
    assert [r.size for r in rows] == [1, 11, 19, 51, 67, 99, 131, 163, 195, 227]
    assert [r.stride for r in rows] == [1, 4, 8, 8, 16, 16, 16, 16, 16, 32]
    assert [r.padding for r in rows] == [0, 2, 2, 18, 18, 34, 50, 66, 82, 82]
    assert [r.output_size for r in rows] == [224, 55, 27, 27, 13, 13, 13, 13, 13, 6]


@pytest.mark.parametrize("pool", [max_pool2d_xla, max_pool2d_slices])
def test_plain_gradient_misses_what_max_pooling_reads_but_the_probe_does_not(pool):
    fn = lambda x: jax.nn.relu(pool(x, (3, 3), (2, 2)))  # noqa: E731
    x = jax.random.normal(jax.random.PRNGKey(0), (1, 9, 9, 1)) + 3.0  # the ReLU is on
    g_plain = jax.grad(lambda x: fn(x)[0, 1, 1, 0])(x)
    g_probe = jax.grad(lambda x: rf.dependency_probe(fn)(x)[0, 1, 1, 0])(x)
    assert int(jnp.sum(g_plain != 0)) == 1  # only the argmax
    assert rf.support_box(np.asarray(g_probe[0, :, :, 0] != 0)) == ((2, 4), (2, 4), True)


def _cnn_cases():
    seen, cases = set(), []
    for path in CONFIGS:
        name = read_config_file(path).model.name
        if name not in MODELS or read_config_file(path).data.name not in IMAGE_DATA:
            continue
        cfg = load_config(path)
        shape = input_shape_of(cfg)
        if len(shape) != 3:
            continue  # flat inputs (the MLP's digits) and 1-D networks (tests/models/test_tcn.py, tests/cli/test_conv1d_cli.py)
        # AlexNet is measured at 127x127 (every layer, 3x3 output units, fields clipped at both borders)
        # to keep the suite fast; `lectarch receptive-field --config ... --check` measures it at 224.
        shape = (min(shape[0], 127), min(shape[1], 127), shape[2])
        model = abstract_model(cfg, shape)
        if not isinstance(model, ReceptiveFields):
            continue  # not a convolutional network
        key = (tuple(model.receptive_field_layers()), shape)
        if key not in seen:
            seen.add(key)
            cases.append(pytest.param(cfg, shape, id=f"{path.stem}-{shape[0]}"))
    return cases


@pytest.mark.parametrize("cfg,shape", _cnn_cases())
def test_measured_receptive_fields_equal_the_analytic_ones(cfg, shape):
    model = rf.positive_copy(abstract_model(cfg, shape))
    rows = rf.receptive_fields(model.receptive_field_layers(), shape[0])
    report = rf.compare(model.receptive_field_maps, shape, rows)
    assert len(report) == len(rows) - 1 and all(line.startswith("ok") for line in report), "\n".join(report)


def test_every_convolutional_config_is_among_the_measured_cases():
    measured = {case.id.split("_")[0] for case in _cnn_cases()}  # configs of one geometry are measured once
    assert {"cnn", "alexnet"} <= measured, measured
