"""Rematerialisation (``model.remat``): the same gradients as without it, to float32 rounding and to
float64 rounding under x64, and far less kept for the backward pass of a deep model.

What the backward pass keeps is measured twice: as the residuals of ``jax.vjp`` (the leaves of its
vjp function, abstract shapes only), and as the peak of the compiled train step that XLA's memory
analysis reports. The second needs lectarch's CPU setting ``lectarch.train.xla_cpu.REMAT`` (the
test process has lectarch's XLA settings: tests/conftest.py): without it XLA's CPU pipeline expands
remat's barriers away, merges the recomputation with the forward pass, and the peak does not move
(the control below). On a GPU, XLA keeps the barriers itself (not measured yet: ``lectarch inspect
--what memory`` on a GPU machine).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from lectarch.data.spec import DataSpec, TokenIds
from lectarch.models import build_model
from lectarch.models.remat import REMAT
from tests.helpers import config

SEQ2SEQ = DataSpec((6,), 11, input_vocab=11, max_len=6, tokens=TokenIds())
RNG = np.random.default_rng(0)
TOKENS = {"src": RNG.integers(3, 11, (2, 6)).astype(np.int32), "tgt_in": RNG.integers(3, 11, (2, 6)).astype(np.int32)}

# config, overrides that keep it small, data spec, inputs
MODELS = {
    "mlp": ("mlp_digits", ["model.width=8", "model.depth=3"], DataSpec((12,), 3), RNG.normal(size=(4, 12))),
    "cnn": ("cnn_digits", ["model.channels=(3,4)", "model.hidden=5", "model.pool=avg"], DataSpec((8, 8, 1), 3),
            RNG.normal(size=(2, 8, 8, 1))),
    "tcn": ("tcn_adding", ["model.channels=3", "model.levels=2"], DataSpec((9, 2), 1), RNG.normal(size=(2, 9, 2))),
    "deep_bidirectional_lstm": ("adding_lstm", ["model.hidden=4", "model.layers=2", "model.bidirectional=true"],
                                DataSpec((7, 2), 1), RNG.normal(size=(2, 7, 2))),
    "rnn_autodiff": ("adding_rnn", ["model.hidden=4", "model.layers=2", "model.bptt=autodiff"], DataSpec((7, 2), 1),
                     RNG.normal(size=(2, 7, 2))),
    "transformer": ("transformer_copy", ["model.d_model=8", "model.d_ff=16", "model.num_heads=2", "model.max_len=8",
                                         "model.pre_norm=true"], SEQ2SEQ, TOKENS),
}


def _grads(name: str, remat: str, dtype=jnp.float32):
    """The gradient of a fixed loss of the model's outputs, with parameters (and inputs) in ``dtype``."""
    cfg_name, overrides, spec, inputs = MODELS[name]
    cfg = config(cfg_name, *overrides, f"model.remat={remat}")
    if dtype == jnp.float64:
        cfg.model.dtype = "float64"  # not a config choice: the test's reference precision
    graphdef, params, rest = nnx.split(build_model(cfg, spec, nnx.Rngs(0)), nnx.Param, ...)
    params = jax.tree.map(lambda p: p.astype(dtype), params)
    x = jax.tree.map(lambda a: jnp.asarray(a, dtype) if a.dtype.kind == "f" else jnp.asarray(a), inputs)

    def loss(params):
        y = nnx.merge(graphdef, params, rest)(x)
        return jnp.sum(jnp.sin(y.astype(dtype)))

    return jax.jit(jax.grad(loss))(params)


@pytest.mark.parametrize("name", list(MODELS))
def test_remat_gradients_equal_the_plain_ones_to_float32_rounding(name):
    """Each gradient within a few float32 roundings of the largest gradient entry: the recomputed
    forward pass is fused and summed in another order than the kept one (and a gradient that is
    zero in exact arithmetic, a bias before a LayerNorm, is rounding noise either way)."""
    plain = _grads(name, "none")
    scale = max(float(np.abs(g).max()) for g in jax.tree.leaves(plain))
    for mode in REMAT[1:]:
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-5 * scale), _grads(name, mode),
                     plain)


@pytest.mark.parametrize("name", ["mlp", "cnn", "tcn", "deep_bidirectional_lstm"])
def test_remat_gradients_equal_the_plain_ones_to_float64_rounding(name):
    with jax.enable_x64(True):
        plain = _grads(name, "none", jnp.float64)
        assert {a.dtype for a in jax.tree.leaves(plain)} == {jnp.dtype(jnp.float64)}
        for mode in REMAT[1:]:
            jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14),
                         _grads(name, mode, jnp.float64), plain)


def _residual_bytes(cfg_name: str, overrides: list[str], spec: DataSpec, inputs) -> int:
    """Bytes the backward pass keeps from the forward: the residuals inside ``jax.vjp``'s function
    (the parameters among them too, the same in every mode)."""
    cfg = config(cfg_name, *overrides)
    graphdef, params, rest = nnx.split(nnx.eval_shape(lambda: build_model(cfg, spec, nnx.Rngs(0))), nnx.Param, ...)

    def loss(params, x):
        return jnp.sum(nnx.merge(graphdef, params, rest)(x).astype(jnp.float32) ** 2)

    residuals = jax.eval_shape(lambda p, x: jax.tree.leaves(jax.vjp(lambda p: loss(p, x), p)[1]), params, inputs)
    return sum(r.size * r.dtype.itemsize for r in residuals)


@pytest.mark.parametrize("cfg_name,overrides,spec,inputs,dots_help", [
    ("transformer_copy", ["model.d_model=64", "model.d_ff=256", "model.num_heads=4", "model.max_len=64",
                          "model.num_encoder_layers=3", "model.num_decoder_layers=3", "model.dropout=0.0"],
     DataSpec((64,), 32, input_vocab=32, max_len=64, tokens=TokenIds()),
     {"src": jax.ShapeDtypeStruct((16, 64), jnp.int32), "tgt_in": jax.ShapeDtypeStruct((16, 64), jnp.int32)}, True),
    # the explicit BPTT keeps only a_t and the carries; saving every step's matmul outputs keeps more
    ("adding_lstm", ["model.hidden=64", "model.layers=6", "model.family=many_to_many"], DataSpec((64, 2), 1),
     jax.ShapeDtypeStruct((16, 64, 2), jnp.float32), False),
], ids=["transformer_6_layers", "lstm_6_layers"])
def test_remat_keeps_far_less_for_the_backward_pass_of_a_deep_model(cfg_name, overrides, spec, inputs, dots_help):
    plain = _residual_bytes(cfg_name, overrides + ["model.remat=none"], spec, inputs)
    saving_dots = _residual_bytes(cfg_name, overrides + ["model.remat=block_save_dots"], spec, inputs)
    block = _residual_bytes(cfg_name, overrides + ["model.remat=block"], spec, inputs)
    assert block < 0.5 * plain and block < saving_dots, (block, saving_dots, plain)
    assert (saving_dots < plain) == dots_help, (saving_dots, plain)


# 16 hidden layers at a batch of 1024: the activations, not the weights, set the peak (compiles in a second)
DEEP_MLP = ("deep_mlp", ["model.depth=16", "model.width=64", "batch_size=1024"])
PEAK = """
import json, sys
from lectarch.train import xla_cpu
if sys.argv[1] == "lectarch":
    xla_cpu.apply()
from lectarch.inspect.memory_table import variant_row
from tests.helpers import config
rows = {mode: variant_row(lambda o: config(%r, *%r, *o), mode, ("model.remat=" + mode,), 1).peak_bytes
        for mode in sys.argv[2:]}
print(json.dumps(rows))
""" % DEEP_MLP


def _peaks(settings: str, *modes: str) -> dict[str, int]:
    """The train step's peak (XLA's memory analysis) without and with remat, in a fresh process whose
    XLA flags are the test suite's own plus lectarch's CPU settings or not."""
    import json
    import subprocess
    import sys

    from tests.helpers import REPO, cli_env

    env = dict(cli_env(1), PYTHONPATH=REPO, LECTARCH_XLA_FLAGS="lectarch")
    out = subprocess.run([sys.executable, "-c", PEAK, settings, *modes], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_xla_memory_analysis_shows_remats_lower_peak_on_the_cpu():
    peaks = _peaks("lectarch", "none", "block")
    assert peaks["block"] < 0.6 * peaks["none"], peaks
    # the control: XLA's CPU pipeline alone expands remat's barriers, and nothing is saved (without
    # remat there are no barriers, so "none" is the same program under both settings)
    control = _peaks("xla_default", "block")
    assert control["block"] >= 0.95 * peaks["none"], (control, peaks)
