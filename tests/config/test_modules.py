"""Names that pick a module: a built-in name or an importable module path, with one-line errors."""

import subprocess
import sys
import textwrap

import pytest

from lectarch.config import ConfigError
from lectarch.config.modules import resolve
from lectarch.data import DATASETS
from lectarch.experiment import build_objective, load_config, resolve_parts
from lectarch.models import MODELS
from tests.helpers import REPO, config


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A folder on sys.path holding small modules, removed from sys.modules afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        sys.modules.pop(name, None)


def test_a_built_in_name_gives_its_module():
    assert resolve("model", "lstm", MODELS).__name__ == "lectarch.models.recurrent"
    assert resolve("data", "digits", DATASETS).__name__ == "lectarch.data.digits"


def test_a_module_path_gives_that_module(plugin_dir):
    (plugin_dir / "my_model_pkg").mkdir()
    (plugin_dir / "my_model_pkg" / "__init__.py").write_text("")
    (plugin_dir / "my_model_pkg" / "tiny.py").write_text("def build(cfg, spec, rngs):\n    return 'built'\n")
    module = resolve("model", "my_model_pkg.tiny", MODELS)
    assert module.__name__ == "my_model_pkg.tiny" and module.build(None, None, None) == "built"


def test_a_missing_module_is_one_line_naming_what_was_tried():
    with pytest.raises(ConfigError) as e:
        resolve("model", "no_such_pkg.gru", MODELS)
    msg = str(e.value)
    assert "\n" not in msg
    assert "config.model.name='no_such_pkg.gru'" in msg and "no module named 'no_such_pkg'" in msg
    assert "'transformer'" in msg  # the built-ins were tried first and are listed


def test_a_typo_in_a_built_in_name_suggests_the_closest():
    with pytest.raises(ConfigError, match=r"config\.model\.name='lstn'.*did you mean 'lstm'\?"):
        resolve("model", "lstn", MODELS)
    with pytest.raises(ConfigError, match=r"config\.data\.name='digit'.*did you mean 'digits'\?"):
        config("mlp_digits", "data.name=digit")
    with pytest.raises(ConfigError, match=r"config\.objective='clasification'.*did you mean 'classification'\?"):
        config("mlp_digits", "objective=clasification")


def test_a_module_without_build_is_refused(plugin_dir):
    (plugin_dir / "not_a_model.py").write_text("WIDTH = 3\n")
    with pytest.raises(ConfigError, match=r"config\.model\.name='not_a_model'.*has no build\(\) function"):
        resolve("model", "not_a_model", MODELS)


def test_a_module_that_fails_to_import_names_its_file_and_line(plugin_dir):
    (plugin_dir / "broken_model.py").write_text("import numpy\nx = 1 / 0\ndef build(c, s, r):\n    pass\n")
    with pytest.raises(ConfigError) as e:
        resolve("model", "broken_model", MODELS)
    assert f"{plugin_dir / 'broken_model.py'}:2: ZeroDivisionError" in str(e.value)
    (plugin_dir / "needs_missing.py").write_text("import not_installed_anywhere\ndef build(c, s, r):\n    pass\n")
    with pytest.raises(ConfigError, match=r"importing module 'needs_missing' failed: .*needs_missing\.py:1: "
                                          r"ModuleNotFoundError"):
        resolve("model", "needs_missing", MODELS)


def test_plugin_modules_beside_a_config_file_are_found_and_their_rules_apply(tmp_path):
    (tmp_path / "my_objective.py").write_text(textwrap.dedent("""\
        from lectarch.train.objectives import regression
        def build(cfg):
            return lambda outputs, batch: regression(outputs, batch)
        def validate_config(cfg):
            from lectarch.config import ConfigError
            if cfg.model.width == 7:
                raise ConfigError("config.model.width=7 is unlucky")
    """))
    (tmp_path / "exp.py").write_text(textwrap.dedent(f"""\
        from experiments.configs.mlp_digits import get_config as base
        def get_config():
            c = base()
            c.objective = "my_objective"
            return c
    """))
    cfg = load_config(tmp_path / "exp.py")
    assert cfg.import_path == str(tmp_path)
    assert resolve_parts(cfg).objective.__file__ == str(tmp_path / "my_objective.py")
    assert build_objective(cfg).__qualname__ == "build.<locals>.<lambda>"
    with pytest.raises(ConfigError, match="width=7 is unlucky"):
        load_config(tmp_path / "exp.py", ["model.width=7"])


def test_label_smoothing_reaches_the_built_objective():
    import jax.numpy as jnp

    from lectarch.train.objectives import classification

    logits = jnp.asarray([[2.0, -1.0, 0.5]])
    batch = {"targets": jnp.asarray([0])}
    smoothed = build_objective(config("mlp_digits", "label_smoothing=0.2"))(logits, batch)[0]
    assert float(smoothed) == pytest.approx(float(classification(logits, batch, label_smoothing=0.2)[0]))
    assert float(smoothed) != pytest.approx(float(classification(logits, batch)[0]))
    with pytest.raises(ConfigError, match=r"label_smoothing=0\.2 is not allowed with objective 'regression'"):
        config("adding_rnn", "label_smoothing=0.2")


def test_the_config_package_imports_no_model_dataset_or_trainer():
    code = ("import sys, lectarch.config, lectarch.config.modules; "
            "print(sorted(m for m in sys.modules if m.startswith(('lectarch.models', 'lectarch.data', "
            "'lectarch.train'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_typo_on_the_command_line_is_one_line_exit_2(tmp_path, capsys):
    from lectarch.cli import main

    config_file = f"{REPO}/experiments/plugins/gru_config.py"
    assert main(["train", "--config", config_file, "--workdir", str(tmp_path / "run"),
                 "--config.model.name=lstn"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lectarch train: error: config.model.name='lstn' is neither a built-in model "
                          "(did you mean 'lstm'?")
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "run").exists()
