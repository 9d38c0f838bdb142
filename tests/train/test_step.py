import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lectarch.data import build_dataset, pipeline
from lectarch.train import sharding
from lectarch.train.objectives import classification
from lectarch.train.optim import optimizer, schedule
from lectarch.train.state import init_state
from lectarch.train.step import StepOptions, apply_gradients, make_train_step, step_options
from tests.helpers import config


def _setup(*overrides):
    cfg = config("mlp_digits", "model.width=32", *overrides)
    ds = build_dataset(cfg)
    graphdef, state, tx = init_state(cfg, ds.spec)
    return cfg, ds, graphdef, state, tx


def _losses(mesh, step_fn, state, ds, cfg, n=6):
    state = sharding.place_state(mesh, state)
    out = []
    for s in range(n):
        batch = pipeline.train_batch_at(ds, batch_size=cfg.batch_size, seed=cfg.seed, step=s)
        state, m = step_fn(state, sharding.global_batch(mesh, batch))
        out.append(float(m["loss"]))
    return np.array(out), state


def test_train_step_is_pure_and_its_jaxpr_prints():
    cfg, ds, graphdef, state, tx = _setup()
    step = make_train_step(graphdef, tx, classification, step_options(cfg, "logging"))
    batch = pipeline.train_batch_at(ds, batch_size=8, seed=0, step=0)
    jaxpr = jax.make_jaxpr(step)(state, batch)
    assert jaxpr.effects == set()  # no callback, print or I/O inside the step (a jax.debug.print would show here)
    assert str(jaxpr).count("dot_general") >= 2 * (cfg.model.depth + 1)  # forward and backward matmul of each layer
    a, _ = step(state, batch)
    b, _ = step(state, batch)  # same inputs, same outputs: no hidden state
    assert jax.tree.all(jax.tree.map(lambda x, y: np.array_equal(x, y), a, b))


def test_one_and_eight_devices_give_the_same_losses():
    assert len(jax.devices()) == 8
    cfg, ds, graphdef, state, tx = _setup()
    step = make_train_step(graphdef, tx, classification, step_options(cfg, "logging"))
    one, _ = _losses(sharding.make_mesh(1), sharding.jit_train_step(sharding.make_mesh(1), step), state, ds, cfg)
    mesh8 = sharding.make_mesh(8)
    eight, s8 = _losses(mesh8, sharding.jit_train_step(mesh8, step), state, ds, cfg)
    np.testing.assert_allclose(one, eight, rtol=1e-5)
    assert len(s8.params["out"]["kernel"][...].sharding.device_set) == 8  # replicated over 8 devices


def test_shard_map_step_equals_jit_step():
    # momentum SGD: parameters are linear in the gradients, so float noise stays at float noise
    # (Adam divides tiny gradient entries by their own tiny RMS and magnifies it).
    cfg, ds, graphdef, state, tx = _setup("optimizer.name=momentum", "learning_rate=0.05")
    mesh = sharding.make_mesh(8)
    jit_losses, jit_state = _losses(mesh, sharding.jit_train_step(mesh, make_train_step(graphdef, tx, classification, step_options(cfg, "logging"))),
                                    state, ds, cfg)
    sm_losses, sm_state = _losses(mesh, sharding.shard_map_train_step(mesh, graphdef, tx, classification, step_options(cfg, "logging")), state, ds, cfg)
    np.testing.assert_allclose(jit_losses, sm_losses, rtol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), jit_state.params, sm_state.params)


@pytest.mark.parametrize("name, lr", [("sgd", 0.5), ("momentum", 0.2), ("nesterov", 0.2), ("adam", 0.01),
                                      ("adamw", 0.01)])
def test_every_optimizer_lowers_the_loss(name, lr):
    cfg, ds, graphdef, state, tx = _setup(f"optimizer.name={name}", f"learning_rate={lr}", "optimizer.weight_decay=0.01")
    step = jax.jit(make_train_step(graphdef, tx, classification, step_options(cfg, "logging")))
    batch = pipeline.train_batch_at(ds, batch_size=64, seed=0, step=0)
    losses = []
    for _ in range(10):
        state, m = step(state, batch)
        losses.append(float(m["loss"]))
    assert losses[-1] < 0.8 * losses[0], losses


def test_schedules_follow_their_formulas():
    cfg = config("mlp_digits", "learning_rate=0.1", "num_steps=100", "schedule.name=warmup_cosine",
                 "schedule.warmup_steps=10", "schedule.end_factor=0.1")
    s = schedule(cfg)
    assert float(s(0)) == 0.0 and np.isclose(float(s(10)), 0.1) and np.isclose(float(s(100)), 0.01)
    lin = schedule(config("mlp_digits", "learning_rate=0.1", "schedule.name=linear_warmup", "schedule.warmup_steps=4"))
    np.testing.assert_allclose([float(lin(t)) for t in (0, 2, 4, 50)], [0, 0.05, 0.1, 0.1], rtol=1e-6)
    inv = schedule(config("mlp_digits", "learning_rate=1.0", "schedule.name=inverse_sqrt", "schedule.warmup_steps=4"))
    np.testing.assert_allclose([float(inv(t)) for t in (2, 4, 16)], [0.5, 1.0, 0.5], rtol=1e-6)
    cos = schedule(config("mlp_digits", "learning_rate=0.1", "num_steps=100", "schedule.name=cosine"))
    assert np.isclose(float(cos(50)), 0.05)


def test_clipping_global_norm_and_elementwise():
    grads = {"w": np.full((4,), 10.0, np.float32)}
    params = {"w": np.zeros(4, np.float32)}
    for key, expect in (("clip.global_norm=1.0", 0.5), ("clip.elementwise=0.25", 0.25)):
        cfg = config("mlp_digits", "optimizer.name=sgd", "learning_rate=1.0", key)
        tx = optimizer(cfg)
        updates, _ = tx.update(grads, tx.init(params), params)
        np.testing.assert_allclose(-updates["w"], expect, rtol=1e-6)


def test_nonfinite_loss_freezes_the_state_and_names_the_step():
    cfg, ds, graphdef, state, tx = _setup("optimizer.name=sgd")
    mesh = sharding.make_mesh(1)
    step = sharding.jit_train_step(mesh, make_train_step(graphdef, tx, classification, step_options(cfg, "logging")))
    state = sharding.place_state(mesh, state)
    good = pipeline.train_batch_at(ds, batch_size=64, seed=0, step=0)
    bad = dict(good, inputs=np.where(np.arange(64)[:, None] == 3, np.nan, good["inputs"]).astype(np.float32))
    state, m = step(state, sharding.global_batch(mesh, good))
    before = jax.device_get(state.params)
    state, m = step(state, sharding.global_batch(mesh, bad))
    assert int(m["nonfinite_step"]) == 1 and not np.isfinite(float(m["loss"]))
    state, m = step(state, sharding.global_batch(mesh, good))  # stays frozen afterwards
    assert int(m["nonfinite_step"]) == 1
    jax.tree.map(np.testing.assert_array_equal, before, jax.device_get(state.params))


@pytest.mark.users_codegen
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_lean_step_updates_the_state_exactly_as_the_full_step(opt):
    """The loop runs the lean step (no gradient norm) between logging steps: same state, bit for bit."""
    cfg, ds, graphdef, state, tx = _setup(f"optimizer.name={opt}")
    mesh = sharding.make_mesh(1)
    full = sharding.jit_train_step(mesh, make_train_step(graphdef, tx, classification, step_options(cfg, "logging")))
    lean = sharding.jit_train_step(mesh, make_train_step(graphdef, tx, classification, step_options(cfg, "lean")))
    full_losses, full_state = _losses(mesh, full, state, ds, cfg, n=4)
    lean_losses, lean_state = _losses(mesh, lean, state, ds, cfg, n=4)
    np.testing.assert_array_equal(full_losses, lean_losses)
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(full_state), jax.device_get(lean_state))
    batch = sharding.global_batch(mesh, pipeline.train_batch_at(ds, batch_size=cfg.batch_size, seed=0, step=0))
    _, m_full = full(sharding.place_state(mesh, state), batch)
    _, m_lean = lean(sharding.place_state(mesh, state), batch)
    assert "grad_norm" in m_full and "grad_norm" not in m_lean
    assert set(m_full) - set(m_lean) == {"grad_norm"}


def test_nonfinite_gradient_with_finite_loss_freezes_the_state():
    """A NaN reaching only the gradient (the loss stays finite) is caught by the updated parameters."""
    cfg, ds, graphdef, state, tx = _setup("optimizer.name=sgd")
    mesh = sharding.make_mesh(1)
    nan_grads = lambda params: jax.tree.map(lambda p: jnp.full_like(p, jnp.nan), params)  # noqa: E731
    for lean in (False, True):
        s = sharding.place_state(mesh, state)
        new, m = jax.jit(lambda s: apply_gradients(tx, s, nan_grads(s.params), {"loss": jnp.float32(1.0)},
                                                   StepOptions("params", False, lean)))(s)
        assert int(m["nonfinite_step"]) == 0
        jax.tree.map(np.testing.assert_array_equal, jax.device_get(state.params), jax.device_get(new.params))


@pytest.mark.users_codegen
def test_loss_only_check_gives_the_same_state_and_freezes_on_a_nonfinite_loss():
    """``nonfinite_check="loss"`` (no pass over the parameters): the same state bit for bit on good
    steps, frozen at a step whose loss is non-finite; a NaN reaching only the gradient is left to
    the next loss, where ``"params"`` freezes at once."""
    cfg, ds, graphdef, state, tx = _setup("optimizer.name=adam")
    mesh = sharding.make_mesh(1)
    steps = {c: sharding.jit_train_step(mesh, make_train_step(graphdef, tx, classification, StepOptions(
        nonfinite_check=c, log_grad_norms=False, lean=True))) for c in ("params", "loss")}
    out = {c: _losses(mesh, s, state, ds, cfg, n=4) for c, s in steps.items()}
    np.testing.assert_array_equal(out["params"][0], out["loss"][0])
    jax.tree.map(np.testing.assert_array_equal, jax.device_get(out["params"][1]), jax.device_get(out["loss"][1]))

    good = pipeline.train_batch_at(ds, batch_size=64, seed=0, step=0)
    bad = dict(good, inputs=np.where(np.arange(64)[:, None] == 3, np.nan, good["inputs"]).astype(np.float32))
    s = sharding.place_state(mesh, state)
    s, _ = steps["loss"](s, sharding.global_batch(mesh, good))
    before = jax.device_get(s)
    s, m = steps["loss"](s, sharding.global_batch(mesh, bad))
    assert int(m["nonfinite_step"]) == 1
    jax.tree.map(np.testing.assert_array_equal, before.params, jax.device_get(s.params))
    jax.tree.map(np.testing.assert_array_equal, before.opt_state, jax.device_get(s.opt_state))

    nan_grads = lambda params: jax.tree.map(lambda p: jnp.full_like(p, jnp.nan), params)  # noqa: E731
    for check, frozen in (("params", True), ("loss", False)):
        s = sharding.place_state(mesh, state)
        new, m = jax.jit(lambda s: apply_gradients(tx, s, nan_grads(s.params), {"loss": jnp.float32(1.0)},
                                                   StepOptions(check, False, True)))(s)
        assert (int(m["nonfinite_step"]) == 0) == frozen
        leaves = jax.tree.leaves(jax.device_get(new.params))
        assert all(np.isfinite(x).all() for x in leaves) == frozen


def test_an_unknown_nonfinite_check_is_a_config_error():
    from lectarch.config.errors import ConfigError
    from lectarch.config.validate import check_common

    cfg, *_ = _setup("optimizer.name=sgd")
    cfg.nonfinite_check = "grads"
    with pytest.raises(ConfigError, match="nonfinite_check"):
        check_common(cfg)
