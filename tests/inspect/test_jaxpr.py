"""Jaxprs and primitive histograms: nested run are counted, and an MLP's jaxpr reads like its layer list."""

import jax
import jax.numpy as jnp

from lectarch.inspect.jaxpr import num_equations, primitive_histogram, program_jaxpr
from lectarch.experiment import build_run
from tests.helpers import config


def test_histogram_counts_inside_scan_and_jit():
    inner = jax.jit(lambda x: jnp.sin(x) * 2.0)

    def f(x):
        def body(c, _):
            return jnp.tanh(c) + 1.0, None
        c, _ = jax.lax.scan(body, x, None, length=7)
        return inner(c)

    hist = primitive_histogram(jax.make_jaxpr(f)(jnp.ones(3)))
    assert hist["scan"] == 1 and hist["tanh"] == 1  # the body once, not 7 times
    assert hist["sin"] == 1 and hist["mul"] == 1  # inside the nested jit
    assert num_equations(jax.make_jaxpr(f)(jnp.ones(3))) == sum(hist.values())


def test_mlp_programs_have_one_matmul_per_layer_forward_and_three_per_layer_backward():
    depth = 3
    run = build_run(config("mlp_digits", f"model.depth={depth}"), batch_size=8, abstract=True, num_devices=1)
    layers = depth + 1
    forward = primitive_histogram(program_jaxpr(run, "forward"))
    assert forward["dot_general"] == layers
    grad = primitive_histogram(program_jaxpr(run, "grad"))
    # forward, dL/dW for every layer, dL/dx for every layer but the first (its input needs none)
    assert grad["dot_general"] == layers + layers + (layers - 1)
    step = primitive_histogram(program_jaxpr(run, "train_step"))
    assert step["dot_general"] == grad["dot_general"]  # the optimiser adds no matrix products
    assert num_equations(program_jaxpr(run, "train_step")) > num_equations(program_jaxpr(run, "grad"))


def test_lstm_train_step_holds_one_scan_per_direction_not_T_copies_of_the_cell():
    """The cell's six equations are traced once: the program is the same size for T=10 and T=40."""
    hists, sizes = [], []
    for T in (10, 40):
        run = build_run(config("adding_lstm", f"data.T={T}", "model.layers=1"), batch_size=8, abstract=True, num_devices=1)
        forward = primitive_histogram(program_jaxpr(run, "forward"))
        assert forward["scan"] == 1
        assert forward["logistic"] == 3 and forward["tanh"] == 2  # i, f, o gates; g(z) and h(c), once
        step = program_jaxpr(run, "train_step")
        hists.append(primitive_histogram(step))
        sizes.append(num_equations(step))
    assert hists[0]["scan"] == 2  # the forward pass and backpropagation through time
    assert hists[0] == hists[1] and sizes[0] == sizes[1]
