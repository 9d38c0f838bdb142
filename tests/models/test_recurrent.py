"""The RNN family's shapes, the deep stack, bidirectionality, masks and perturbations of the model."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from lectarch.config import ConfigError
from lectarch.data import build_dataset, pipeline
from lectarch.data.spec import DataSpec
from lectarch.models import build_model
from lectarch.models.recurrent import default_config
from lectarch.models.scan import scan
from tests.helpers import config

# config -> overrides that keep it small; the expected output shape follows from the data.
FAMILY_CONFIGS = {
    "family_one_to_one": [],
    "family_one_to_many": [],
    "temporal_order_lstm": ["data.T=12"],
    "copy_lstm": ["data.T=5"],
    "family_encoder_decoder": [],
    "adding_rnn": ["data.T=7"],
    "deep_lstm_chars": ["data.seq_len=9", "model.hidden=8"],
}


@pytest.mark.parametrize("name", list(FAMILY_CONFIGS))
def test_every_family_member_has_the_shape_of_its_targets(name):
    cfg = config(name, "model.hidden=8", "data.num_train=4" if "num_train" in config(name).data else "seed=0",
                 *FAMILY_CONFIGS[name])
    dataset = build_dataset(cfg)
    batch = pipeline.stack([dataset.train[i] for i in range(2)])
    model = build_model(cfg, dataset.spec, nnx.Rngs(params=0))
    out = jax.eval_shape(lambda x: model(x), jax.tree.map(jnp.asarray, batch["inputs"]))  # traced, not compiled
    targets = np.asarray(batch["targets"])
    expected = targets.shape + ((dataset.spec.num_outputs,) if cfg.objective != "regression" else (1,))
    assert out.shape == expected, (name, out.shape, expected)
    assert out.dtype == jnp.float32


RECURRENT_CONFIGS = ["adding_lstm", "adding_rnn", "copy_lstm", "deep_lstm_chars", "family_encoder_decoder",
                     "family_one_to_many", "family_one_to_one", "lstm_variants", "temporal_order_lstm"]


def test_every_recurrent_config_sets_gradient_clipping():
    for name in RECURRENT_CONFIGS:
        cfg = config(name)
        assert cfg.model.name in ("rnn", "lstm")
        assert cfg.clip.global_norm > 0 and "elementwise" in cfg.clip, name
        assert config(name, "clip.elementwise=0.5").clip.elementwise == 0.5


def _jit(model):
    """``f(inputs, perturbations=None, train=False, rngs=None)``: the model as one compiled program."""
    graphdef, state = nnx.split(model)

    @jax.jit
    def run(state, inputs, perturbations, key):
        m = nnx.merge(graphdef, state)
        return m(inputs, perturbations=perturbations, train=key is not None,
                 rngs=None if key is None else nnx.Rngs(dropout=key))

    return lambda inputs, perturbations=None, key=None: run(state, inputs, perturbations, key)


def _model(layers=2, bidirectional=False, dropout=0.0, family="many_to_many", name="lstm", H=6, F=3):
    m = default_config(name)
    m.family, m.layers, m.bidirectional, m.dropout, m.hidden = family, layers, bidirectional, dropout, H
    from lectarch.models.recurrent import build
    return build(m, DataSpec((5, F), 4), nnx.Rngs(params=0))


def test_deep_stack_feeds_each_layer_the_previous_layers_output():
    model = _model(layers=2)
    x_TxBxF = jax.random.normal(jax.random.PRNGKey(0), (5, 2, 3))
    _, y = model.stack(x_TxBxF)
    l0, l1 = model.stack.forward
    _, y0 = scan(l0.cell, l0.params(), x_TxBxF)
    _, y1 = scan(l1.cell, l1.params(), y0)
    np.testing.assert_allclose(y, y1, rtol=1e-5, atol=1e-6)


def test_dropout_between_layers_acts_only_in_training():
    model = _jit(_model(layers=2, dropout=0.5))
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 5, 3))
    np.testing.assert_array_equal(model(x), model(x))
    key = jax.random.PRNGKey(0)
    assert np.abs(np.asarray(model(x, key=key) - model(x))).max() > 1e-4
    one_layer = _jit(_model(layers=1, dropout=0.5))  # nothing between layers to drop
    np.testing.assert_allclose(one_layer(x, key=key), one_layer(x), rtol=1e-6)


def test_bidirectional_concatenates_a_right_to_left_pass():
    model = _model(layers=1, bidirectional=True)
    x_TxBxF = jax.random.normal(jax.random.PRNGKey(2), (5, 2, 3))
    carries, y = model.stack(x_TxBxF)
    assert y.shape == (5, 2, 12)
    bwd = model.stack.backward[0]
    _, y_rev = scan(bwd.cell, bwd.params(), x_TxBxF[::-1])  # a forward pass over the reversed sequence
    np.testing.assert_allclose(y[:, :, 6:], y_rev[::-1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(carries[0]["reverse"]["h"], y_rev[-1], rtol=1e-5, atol=1e-6)


def test_many_to_one_reads_the_last_real_step_of_a_padded_sequence():
    model = _model(layers=1, family="many_to_one")
    x = jax.random.normal(jax.random.PRNGKey(3), (2, 5, 3))
    mask = jnp.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], jnp.float32)
    out = _jit(model)({"x": x, "mask": mask})
    np.testing.assert_allclose(out[1], model(x[1:, :3])[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[0], model(x[:1])[0], rtol=1e-5, atol=1e-6)


def test_model_perturbations_reach_every_layer_and_direction():
    model = _model(layers=2, bidirectional=True, family="many_to_one")
    x = jax.random.normal(jax.random.PRNGKey(4), (2, 5, 3))
    zeros = model.zero_perturbations(x)
    assert set(zeros) == {f"{l}.{d}{k}" for l in "01" for d in ("", "reverse.") for k in "ch"}
    assert zeros["1.reverse.h"].shape == (5, 2, 6)
    run = _jit(model)
    np.testing.assert_allclose(run(x, zeros), run(x), rtol=1e-6, atol=1e-6)
    grads = jax.jit(jax.grad(lambda p: jnp.sum(run(x, p) ** 2)))(zeros)
    # the forward pass reads its last state (t = T-1) at the top; the first layer at t = 0 still matters
    assert float(jnp.abs(grads["0.h"][0]).max()) > 0 and float(jnp.abs(grads["0.reverse.c"][-1]).max()) > 0
    # the top forward layer's state at the last step gets the head's gradient directly
    assert float(jnp.abs(grads["1.h"][-1]).max()) > float(jnp.abs(grads["1.h"][0]).max())


def test_encoder_decoder_perturbations_are_prefixed():
    cfg = config("family_encoder_decoder", "model.hidden=4")
    dataset = build_dataset(cfg)
    model = build_model(cfg, dataset.spec, nnx.Rngs(params=0))
    inputs = jax.tree.map(jnp.asarray, pipeline.stack([dataset.train[0]])["inputs"])
    zeros = model.zero_perturbations(inputs)
    assert {"encoder.0.h", "encoder.0.c", "decoder.0.h", "decoder.0.c"} == set(zeros)
    run = _jit(model)
    grads = jax.jit(jax.grad(lambda p: jnp.sum(run(inputs, p))))(zeros)
    assert float(jnp.abs(grads["encoder.0.c"][-1]).max()) > 0  # the decoder starts from the encoder's state


def test_pictures_show_the_hidden_states_over_time():
    from lectarch.models.capabilities import Pictures
    from lectarch.models.scan import python_unroll

    model = _model(layers=1, family="many_to_one")
    x_1x5x3 = np.random.default_rng(0).normal(size=(1, 5, 3)).astype(np.float32)
    assert isinstance(model, Pictures)
    p = model.pictures(x_1x5x3)["hidden_states"]
    assert p.kind == "heatmaps" and p.signed and (p.xlabel, p.ylabel) == ("time step t", "unit")
    layer = model.stack.forward[0]
    _, y_TxBxH = python_unroll(layer.cell, layer.params(), jnp.swapaxes(jnp.asarray(x_1x5x3), 0, 1))
    h_HxT = np.asarray(y_TxBxH[:, 0, :]).T
    np.testing.assert_allclose(p.data[0], h_HxT, rtol=1e-5, atol=1e-5)  # units x time, the states as they are


def test_config_rules_reject_what_does_not_exist():
    with pytest.raises(ConfigError, match="LSTM only"):
        config("adding_rnn", "model.variant=NIG")
    with pytest.raises(ConfigError, match="bidirectional"):
        config("family_encoder_decoder", "model.bidirectional=true")
    with pytest.raises(ConfigError, match="model.variant"):
        config("adding_lstm", "model.variant=XYZ")


def test_encoder_decoder_reads_the_sequence_layout_and_ignores_source_padding():
    from lectarch.data.sequences import EOS, PAD, seq2seq_spec

    m = default_config("lstm")
    m.family, m.hidden, m.embed_dim = "encoder_decoder", 5, 4
    from lectarch.models.recurrent import build
    model = build(m, seq2seq_spec(vocab=9, width=6), nnx.Rngs(params=0))
    tgt_in = jnp.array([[1, 6, 5, 4]])
    padded = model({"src": jnp.array([[4, 5, 6, EOS, PAD, PAD]]), "tgt_in": tgt_in})
    unpadded = model({"src": jnp.array([[4, 5, 6, EOS]]), "tgt_in": tgt_in})
    np.testing.assert_allclose(padded, unpadded, rtol=1e-6, atol=1e-6)
    other = model({"src": jnp.array([[4, 5, 7, EOS, PAD, PAD]]), "tgt_in": tgt_in})
    assert not np.allclose(padded, other)  # the source does reach the decoder
