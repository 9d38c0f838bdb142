"""Per-layer gradient norms: exact, ordered by layer, generic over nnx models, and the depth effect."""

import jax
import numpy as np
import optax
from flax import nnx

from lectarch.inspect.gradflow import layer_norms, layer_probe, natural_key
from lectarch.experiment import build_run
from tests.helpers import config


class _Nested(nnx.Module):
    def __init__(self, rngs):
        self.blocks = nnx.List([nnx.Linear(3, 3, rngs=rngs) for _ in range(11)])
        self.head = nnx.Sequential(nnx.Linear(3, 2, rngs=rngs))


def test_layer_norms_are_the_norms_of_each_submodule_and_add_up_to_the_global_norm():
    model = _Nested(nnx.Rngs(0))
    params = nnx.state(model, nnx.Param)
    grads = jax.tree.map(lambda w: 2.0 * w + 1.0, params)
    rows = layer_norms(grads, params)
    assert [r.layer for r in rows] == [f"blocks.{i}" for i in range(11)] + ["head.layers.0"]
    b3 = model.blocks[3]
    expected = np.sqrt(np.sum((2 * b3.kernel[...] + 1) ** 2) + np.sum((2 * b3.bias[...] + 1) ** 2))
    np.testing.assert_allclose(rows[3].grad_norm, expected, rtol=1e-6)
    np.testing.assert_allclose(rows[3].param_norm, np.sqrt(np.sum(b3.kernel[...] ** 2) + np.sum(b3.bias[...] ** 2)), rtol=1e-6)
    assert rows[3].num_params == 3 * 3 + 3
    np.testing.assert_allclose(np.sqrt(sum(r.grad_norm ** 2 for r in rows)), optax.tree.norm(grads), rtol=1e-5)
    assert [r.layer for r in layer_norms(grads, params, depth=1)] == ["blocks", "head"]


def test_natural_order_puts_layer_10_after_layer_9():
    assert sorted(["hidden.10", "hidden.9", "out"], key=natural_key) == ["hidden.9", "hidden.10", "out"]


def test_deep_sigmoid_mlp_gradients_vanish_towards_the_input_but_tanh_ones_do_not():
    def ratio(activation):
        cfg = config("deep_mlp", f"model.activation={activation}", "model.width=32")
        rows = layer_probe(build_run(cfg, num_devices=1, batch_size=32))
        assert [r.layer for r in rows] == [f"hidden.{i}" for i in range(cfg.model.depth)] + ["out"]
        return rows[-1].grad_norm / rows[0].grad_norm

    assert ratio("sigmoid") > 1e4  # sigma' <= 1/4 per layer, 12 layers
    assert ratio("tanh") < 1e2


def test_layer_flow_gives_the_numbers_of_layer_norms_inside_jit():
    from lectarch.inspect.gradflow import layer_flow

    model = _Nested(nnx.Rngs(1))
    params = nnx.state(model, nnx.Param)
    grads = jax.tree.map(lambda w: 0.5 * w - 2.0, params)
    flow = jax.jit(layer_flow)(grads, params)
    for r in layer_norms(grads, params):
        np.testing.assert_allclose(flow[f"grad_flow/{r.layer}/grad_norm"], r.grad_norm, rtol=1e-6)
        np.testing.assert_allclose(flow[f"grad_flow/{r.layer}/ratio"], r.ratio, rtol=1e-6)


def test_flow_warning_fires_beyond_a_factor_of_a_million_either_way():
    from lectarch.inspect.gradflow import flow_warning

    assert flow_warning([1e-7, 1e-3, 0.5]) is not None and flow_warning([1e-7, 1e-3, 0.5]).startswith("vanishing")
    assert flow_warning([1e6 * 2.0, 1.0]).startswith("exploding")
    assert flow_warning([0.9e-6, 1.0]).startswith("vanishing") and flow_warning([1.1e-6, 1.0]) is None
    assert flow_warning([0.9e6, 1.0]) is None and flow_warning([1.0]) is None
    assert flow_warning([float("nan"), 1.0]) is None
    assert "||dL/dh_t||" in flow_warning([0.0, 1.0], what="||dL/dh_t||")
