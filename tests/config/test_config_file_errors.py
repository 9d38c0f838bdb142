"""A broken config or space file fails like a bad config value: exit 2, the user's file and line and
the error in a few lines, no frames of lectarch's loader; ``--debug`` prints the whole traceback."""

import textwrap

import pytest

from lectarch.cli import main
from tests.helpers import REPO

BROKEN = {
    "syntax": ("def get_config()\n    return None\n", 1, "SyntaxError"),
    "raises": ("from lectarch.config import base_config\n\ndef get_config():\n    c = base_config()\n"
               "    c.model.width = 1 / 0\n    return c\n", 5, "ZeroDivisionError: division by zero"),
    "import": ("import numpy\nfrom a_module_that_is_not_there import thing\n\ndef get_config():\n    pass\n", 2,
               "ModuleNotFoundError: No module named 'a_module_that_is_not_there'"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_config_file_names_file_line_and_error(tmp_path, capsys, kind):
    text, line, error = BROKEN[kind]
    path = tmp_path / f"{kind}_config.py"
    path.write_text(text)
    assert main(["train", "--config", str(path), "--workdir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and f"line {line}" in err and error in err
    assert "Traceback" not in err and "lectarch/config" not in err and "importlib" not in err
    assert len(err.strip().splitlines()) <= 7
    assert not (tmp_path / "run").exists()


def test_debug_prints_the_full_traceback(tmp_path, capsys):
    path = tmp_path / "raises_config.py"
    path.write_text(BROKEN["raises"][0])
    assert main(["--debug", "inspect", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "lectarch/config/user_code.py" in err and "ZeroDivisionError" in err


def test_broken_space_file_names_file_line_and_error(tmp_path, capsys):
    space = tmp_path / "space.py"
    space.write_text(textwrap.dedent("""\
        TRIALS = 2

        def space(trial):
            return {"learning_rate": trial.suggest_float("learning_rate", 1e-3, 1e-1, log=True}
    """))
    config = f"{REPO}/experiments/configs/mlp_digits.py"
    assert main(["sweep", "--config", config, "--space", str(space), "--workdir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert str(space) in err and "line 4" in err and "SyntaxError" in err and "Traceback" not in err
