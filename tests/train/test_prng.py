"""``config.prng_impl``: JAX's threefry, rbg or unsafe_rbg random bits for the run's key (dropout
masks). Each keeps exact resume and gives the same run on 1 and 8 devices; the step's program draws
its bits with the chosen implementation; threefry, the default, gives the keys runs always had."""

import jax
import numpy as np
import pytest

from lectarch.config import ConfigError
from lectarch.config.defaults import PRNG_IMPLS
from lectarch.data import build_dataset
from lectarch.experiment import build_run, train
from lectarch.train.metrics import read_metrics
from lectarch.train.state import init_state
from lectarch.train.step import step_key
from tests.helpers import config
from tests.shared_runs import shared_folder

STEPS = 4
OVERRIDES = ("model.dropout=0.3", "model.width=8", "batch_size=16", "eval_batch_size=16", "log_every=1",
             "checkpoint_every=2", "eval_every=100", "progress=false", "pictures=false")


def _cfg(impl: str, *overrides: str):
    return config("mlp_digits", f"prng_impl={impl}", f"num_steps={STEPS}", *OVERRIDES, *overrides)


def _losses(workdir) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in read_metrics(workdir, "train")}


@pytest.fixture(scope="module", params=PRNG_IMPLS)
def straight(request, tmp_path_factory) -> tuple[str, dict[int, float]]:
    """``(impl, losses)`` of an uninterrupted 4-step run on the 8 test devices."""
    impl = request.param

    def make(workdir):
        assert train(_cfg(impl), workdir).status == "finished"

    return impl, _losses(shared_folder(tmp_path_factory, f"prng_straight_{impl}", make))


def test_resume_is_bit_identical(straight, tmp_path, capsys):
    impl, losses = straight
    assert train(_cfg(impl, "num_steps=2"), tmp_path).step == 2
    capsys.readouterr()
    assert train(_cfg(impl), tmp_path).step == STEPS
    assert "Resuming from step 2" in capsys.readouterr().err  # the restored key, not a fresh one
    resumed = _losses(tmp_path)
    assert sorted(resumed) == list(range(1, STEPS + 1))
    assert resumed == losses  # every step's loss, to the last bit


def test_one_device_gives_the_eight_device_run(straight, tmp_path):
    impl, losses = straight
    assert train(_cfg(impl, "num_devices=1"), tmp_path).status == "finished"
    one = _losses(tmp_path)
    assert sorted(one) == sorted(losses)
    # the same dropout masks; only the order of the gradient all-reduce's sums may differ
    np.testing.assert_allclose([one[s] for s in sorted(one)], [losses[s] for s in sorted(losses)], rtol=1e-6, atol=0)


def test_each_implementation_draws_other_masks(tmp_path_factory):
    """The key reaches the dropout masks: each implementation's run has its own first loss (the
    same parameters, other masks)."""
    runs = {impl: _losses(shared_folder(tmp_path_factory, f"prng_straight_{impl}",
                                        lambda w, i=impl: train(_cfg(i), w))) for impl in PRNG_IMPLS}
    firsts = {impl: losses[1] for impl, losses in runs.items()}
    assert len(set(firsts.values())) == len(PRNG_IMPLS), firsts


@pytest.mark.parametrize("impl, key_type, hlo_op", [("threefry", "key<fry>", "threefry2x32"),
                                                     ("rbg", "key<rbg>", "rng_bit_generator"),
                                                     ("unsafe_rbg", "key<urbg>", "rng_bit_generator")])
def test_the_step_draws_its_bits_with_the_chosen_implementation(impl, key_type, hlo_op):
    run = build_run(_cfg(impl), num_devices=1)
    step, batch = run.train_step(), run.first_batch()
    jaxpr = str(jax.make_jaxpr(step)(run.state, batch))
    others = {"key<fry>", "key<rbg>", "key<urbg>"} - {key_type}
    assert key_type in jaxpr and not any(o in jaxpr for o in others)
    assert "random_bits" in jaxpr
    hlo = jax.jit(step).lower(run.state, batch).as_text()
    assert hlo_op in hlo
    if impl == "threefry":
        assert "rng_bit_generator" not in hlo


def test_threefry_keys_are_the_ones_runs_always_had():
    """The default's key data is ``PRNGKey(seed)``, the uint32[2] of checkpoints written before the
    key existed: they restore, and resume, as they did."""
    cfg = config("mlp_digits", "seed=7", "model.width=8")
    assert cfg.prng_impl == "threefry"
    state = init_state(cfg, build_dataset(cfg).spec)[1]
    np.testing.assert_array_equal(state.key, jax.random.PRNGKey(7))
    expected = jax.random.fold_in(jax.random.PRNGKey(7), 0)
    np.testing.assert_array_equal(jax.random.key_data(step_key(state)), expected)


def test_rbg_state_keeps_plain_key_data():
    cfg = config("mlp_digits", "prng_impl=rbg", "seed=7", "model.width=8")
    state = init_state(cfg, build_dataset(cfg).spec)[1]
    assert state.key.dtype == np.uint32 and state.key.shape == (4,) and state.prng_impl == "rbg"
    np.testing.assert_array_equal(state.key, jax.random.key_data(jax.random.key(7, impl="rbg")))
    assert all(isinstance(x, jax.Array) for x in jax.tree.leaves(state))  # the name is static, not a leaf


def test_an_unknown_implementation_is_a_one_line_error():
    with pytest.raises(ConfigError, match=r"config\.prng_impl='philox' is not allowed: must be one of "
                                          r"'threefry', 'rbg', 'unsafe_rbg'"):
        config("mlp_digits", "prng_impl=philox")
