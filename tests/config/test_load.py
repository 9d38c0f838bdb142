import pytest

from lectarch.config import ConfigError
from tests.helpers import config, lectarch


def test_default_config_loads_and_overrides_are_typed():
    cfg = config("mlp_digits", "learning_rate=0.01", "model.width=32", "optimizer.name=sgd", "progress=false")
    assert cfg.learning_rate == 0.01 and isinstance(cfg.learning_rate, float)
    assert cfg.model.width == 32 and isinstance(cfg.model.width, int)
    assert cfg.optimizer.name == "sgd" and cfg.progress is False


def test_unknown_key_names_the_closest_valid_one():
    with pytest.raises(ConfigError, match=r"config\.lerning_rate.*did you mean config\.learning_rate"):
        config("mlp_digits", "lerning_rate=0.1")
    with pytest.raises(ConfigError, match=r"config\.model\.widht.*config\.model\.width"):
        config("mlp_digits", "model.widht=3")


@pytest.mark.parametrize("override, pattern", [
    ("learning_rate=-1", r"config\.learning_rate=-1\.0 is out of range: must be a number > 0"),
    ("batch_size=0", r"config\.batch_size=0 is out of range: must be an integer >= 1"),
    ("model.activation=swish", r"config\.model\.activation='swish' is not allowed: must be one of"),
    ("optimizer.name=lion", r"config\.optimizer\.name='lion'.*'sgd'"),
    ("model.dropout=1.0", r"config\.model\.dropout=1\.0 is out of range: must be a number >= 0 and < 1"),
    ("num_steps=1.5", r"config\.num_steps='1\.5' is not an integer"),
    ("learning_rate=nan", r"config\.learning_rate=nan is out of range"),
    ("schedule.name=linear_warmup", r"config\.schedule\.warmup_steps=0 .*needs an integer >= 1"),
])
def test_bad_values_are_named_with_their_allowed_range(override, pattern):
    with pytest.raises(ConfigError, match=pattern):
        config("mlp_digits", override)


def test_cli_bad_value_is_one_line_exit_2_no_traceback(tmp_path):
    r = lectarch("train", "--config", "experiments/configs/mlp_digits.py", "--workdir", str(tmp_path / "w"),
                 "--config.learning_rate=-1", devices=1)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines == ["lectarch train: error: config.learning_rate=-1.0 is out of range: must be a number > 0"]
    assert not (tmp_path / "w").exists()  # nothing was built before validation
