"""Compiled costs: FLOPs that match the formula, and positive cost and memory for every experiment config."""

import glob
import os

import jax
import jax.numpy as jnp
import pytest

from lectarch.inspect.costs import compile_costs, program_costs
from lectarch.experiment import build_run
from tests.conftest import REPO
from tests.helpers import config

CONFIGS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, "experiments", "configs", "*.py"))
                 if not os.path.basename(p).startswith("_"))


def test_matmul_flops_are_2mnk_and_memory_counts_the_buffers():
    m, k, n = 32, 48, 16
    a = jax.ShapeDtypeStruct((m, k), jnp.float32)
    b = jax.ShapeDtypeStruct((k, n), jnp.float32)
    costs = compile_costs(jax.jit(jnp.matmul), a, b, keep_text=True)
    assert costs.flops == 2 * m * n * k
    assert costs.argument_bytes == 4 * (m * k + k * n)
    assert costs.output_bytes == 4 * m * n
    assert costs.peak_memory_bytes >= costs.argument_bytes + costs.output_bytes
    assert "stablehlo.dot_general" in costs.stablehlo and "dot(" in costs.optimized_hlo


def _smoke_overrides(cfg, tmp_path) -> list[str]:
    """Datasets with a built-in mock mode (e.g. translation: tokenizer trained on mock pairs)."""
    if "mock_examples" not in cfg.data:
        return []
    extra = ["data.mock_examples=64"] + (["data.vocab_size=64"] if "vocab_size" in cfg.data else [])
    return extra + ([f"data.tokenizer_dir={tmp_path}"] if "tokenizer_dir" in cfg.data else [])


@pytest.mark.parametrize("name", CONFIGS)
def test_every_config_has_positive_costs(name, tmp_path):
    """Lower and compile the forward pass (nothing runs) at the config's model size, batch 8, with
    XLA's backend optimisation off: the cheapest compile that still yields every number. The whole
    train step's costs are checked on the small configs in tests/inspect/test_cli.py."""
    import tensorflow_datasets as tfds

    cfg = config(name)
    cfg = config(name, *_smoke_overrides(cfg, tmp_path))
    with tfds.testing.mock_data(num_examples=8):
        run = build_run(cfg, batch_size=8, abstract=True, num_devices=1)
    costs = program_costs(run, "forward", compiler_options={"xla_backend_optimization_level": 0})
    assert costs.flops > 0 and costs.bytes_accessed > 0
    assert costs.argument_bytes > 0 and costs.output_bytes > 0
    assert costs.peak_memory_bytes >= costs.argument_bytes and costs.compile_seconds > 0


def test_train_step_donates_the_state_and_costs_more_than_the_forward_pass():
    run = build_run(config("mlp_digits"), batch_size=8, abstract=True, num_devices=1)
    forward = program_costs(run, "forward")
    step = program_costs(run, "train_step")
    assert step.alias_bytes > 0  # the state's buffers are reused, as in the trainer
    assert step.flops > 2 * forward.flops  # backward ~ 2x forward, plus the update
