"""Memory before compute: a step that cannot fit is one line naming the estimate, the memory
available and the keys behind it; a batch larger than the training split is a config error."""

import jax
import pytest

from lectarch.config import ConfigError
from lectarch.train import memory
from lectarch.experiment import train
from tests.faults.common import MLP, TINY, assert_one_line_error, run_cli
from tests.helpers import config


def test_host_available_bytes_reads_memavailable(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16000000 kB\nMemFree:         1000 kB\nMemAvailable:    2048 kB\n")
    assert memory.host_available_bytes(str(meminfo)) == 2048 * 1024
    assert memory.host_available_bytes(str(tmp_path / "missing")) is None


def test_check_fits_names_estimate_available_and_keys():
    estimate = memory.MemoryEstimate(per_device_bytes=3 * 2**30, devices=2)
    memory.check_fits(estimate, 100 * 2**30, "host RAM", {"batch_size": 64})  # fits: no error
    memory.check_fits(estimate, None, "host RAM", {"batch_size": 64})  # unknown: no error
    with pytest.raises(ConfigError, match=r"needs about 6\.00 GiB \(2 devices x 3\.00 GiB\) but only 4\.00 GiB "
                                          r"of host RAM is available: reduce config\.batch_size=64"):
        memory.check_fits(estimate, 4 * 2**30, "host RAM", {"batch_size": 64})


def _compiled_step_bytes(batch_size: int) -> int:
    """XLA's estimate for the MLP step: parameters, Adam's two moments and the batch at least."""
    import jax.numpy as jnp

    def step(w, m, v, x):
        g = jax.grad(lambda w: jnp.sum(jnp.tanh(x @ w) ** 2))(w)
        return w - g, m + g, v + g * g

    w = jax.ShapeDtypeStruct((256, 256), jnp.float32)
    x = jax.ShapeDtypeStruct((batch_size, 256), jnp.float32)
    return memory.step_bytes(jax.jit(step).lower(w, w, w, x).compile())


def test_step_bytes_covers_the_arguments_and_grows_with_the_batch():
    small, large = _compiled_step_bytes(8), _compiled_step_bytes(4096)
    arguments = 3 * 256 * 256 * 4
    assert small >= arguments + 8 * 256 * 4  # an independent lower bound: the inputs themselves
    assert large - small >= (4096 - 8) * 256 * 4  # the batch alone grows by this much


def test_a_step_larger_than_memory_is_refused_before_training(tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "host_available_bytes", lambda *a: 2**10)  # a 1 KiB machine
    code, _, err = run_cli("train", "--config", MLP, "--workdir", str(tmp_path), *TINY)
    line = assert_one_line_error(code, err, "the train step needs about", "of host RAM (MemAvailable) is available",
                                 "config.batch_size=16", "config.model.width=16")
    assert "only 1.00 KiB of host RAM" in line
    assert not (tmp_path / "metrics.jsonl").exists() and not any((tmp_path / "checkpoints").glob("[0-9]*"))


def test_estimate_of_the_real_step_is_at_least_its_state(tmp_path, monkeypatch):
    seen = {}
    real = memory.check_step_memory

    def spy(compiled, mesh, keys):
        seen["estimate"] = real(compiled, mesh, keys)
        raise ConfigError("stop here")

    monkeypatch.setattr(memory, "check_step_memory", spy)
    cfg = config("mlp_digits", "batch_size=16", "model.width=16", "progress=false")
    with pytest.raises(ConfigError, match="stop here"):
        train(cfg, tmp_path)
    params = (64 * 16 + 16) + (16 * 16 + 16) + (16 * 10 + 10)  # digits 8x8 -> 16 -> 16 -> 10
    assert seen["estimate"].per_device_bytes >= 3 * params * 4  # parameters and Adam's two moments
    assert seen["estimate"].devices == len(jax.devices())


def test_batch_larger_than_the_training_split_is_a_config_error(tmp_path):
    code, _, err = run_cli("train", "--config", MLP, "--workdir", str(tmp_path), *TINY,
                           "--config.batch_size=1000000000")
    assert_one_line_error(code, err, "config.batch_size=1000000000", "training split has only")


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_non_finite_numbers_are_rejected(tmp_path, value):
    code, _, err = run_cli("train", "--config", MLP, "--workdir", str(tmp_path), *TINY,
                           f"--config.learning_rate={value}")
    assert_one_line_error(code, err, "config.learning_rate=", "finite")
    code, _, err = run_cli("train", "--config", MLP, "--workdir", str(tmp_path), *TINY,
                           f"--config.optimizer.weight_decay={value}")
    assert_one_line_error(code, err, "config.optimizer.weight_decay=", "finite")
