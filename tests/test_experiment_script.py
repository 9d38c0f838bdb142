"""``python -m experiments.X`` ends as a lectarch command does: a user's error or Ctrl-C is one line
headed by the script and an exit code, a bug keeps its traceback."""

import pytest

from experiments.script import run_script
from lectarch.config import ConfigError


def _exit_code(main) -> int:
    with pytest.raises(SystemExit) as ended:
        run_script(main, "python -m experiments.x")
    return ended.value.code


def _raise(e):
    def main():
        raise e
    return main


def test_a_users_error_and_ctrl_c_are_one_line_and_an_exit_code(capsys):
    assert _exit_code(lambda: 0) == 0 and _exit_code(lambda: None) is None
    assert _exit_code(_raise(ConfigError("unknown config key config.nosuch"))) == 2
    assert capsys.readouterr().err == "python -m experiments.x: error: unknown config key config.nosuch\n"
    assert _exit_code(_raise(KeyboardInterrupt())) == 130
    assert capsys.readouterr().err == "\npython -m experiments.x: interrupted (Ctrl-C)\n"
    assert _exit_code(_raise(FileNotFoundError(2, "No such file or directory", "/nowhere/results.md"))) == 2
    assert "/nowhere/results.md" in capsys.readouterr().err


def test_a_bug_in_an_experiment_keeps_its_traceback_and_an_error_in_a_users_file_is_one_line(capsys):
    from experiments.script import EXPERIMENTS

    scope = {}
    exec(compile("def main():\n    return 1 / 0\n", str(EXPERIMENTS / "a_script.py"), "exec"), scope)
    with pytest.raises(ZeroDivisionError):
        run_script(scope["main"], "python -m experiments.x")
    assert _exit_code(_raise(ZeroDivisionError("in a space file"))) == 2  # raised here, as in a user's file
    assert capsys.readouterr().err.startswith(f"python -m experiments.x: error: {__file__}:")
