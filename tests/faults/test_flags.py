"""Every command's flags are checked like config values: a bad one is one line naming the flag and
what is allowed, exit 2, no traceback, and nothing is written."""

import importlib.util
import os

import optuna
import pytest

from lectarch.cli.args import storage_url
from lectarch.sweep.optuna_sweep import make_storage
from tests.faults.common import MLP, assert_one_line_error, run_cli
from tests.helpers import REPO

SPACE = os.path.join(REPO, "experiments", "sweeps", "mlp_digits_lr.py")


def _cases(tmp):
    a_file = tmp / "a_file.txt"
    a_file.write_text("x\n")
    run = tmp / "run"
    run.mkdir(exist_ok=True)
    w = str(run)
    sweep = ["sweep", "--config", MLP, "--space", SPACE, "--workdir", str(tmp / "sweep")]
    return {
        "decode --beam 0": (["decode", "--workdir", w, "--beam", "0"], "--beam", ">= 1"),
        "decode --beam -3": (["decode", "--workdir", w, "--beam", "-3"], "--beam", ">= 1"),
        "decode --examples -5": (["decode", "--workdir", w, "--examples", "-5"], "--examples", ">= 0"),
        "decode --batch-size 0": (["decode", "--workdir", w, "--batch-size", "0"], "--batch-size", ">= 1"),
        "decode --alpha nan": (["decode", "--workdir", w, "--alpha", "nan"], "--alpha", "finite"),
        "decode --workdir missing": (["decode", "--workdir", str(tmp / "missing")], "--workdir", "does not exist"),
        "inspect --batch-size -4": (["inspect", "--config", MLP, "--batch-size", "-4"], "--batch-size", ">= 0"),
        "inspect --save FILE": (["inspect", "--config", MLP, "--save", str(a_file)], "--save", "is a file"),
        "inspect --save under missing": (["inspect", "--config", MLP, "--save", str(tmp / "no" / "such")], "--save",
                                         "does not exist"),
        "gradflow --group-depth -2": (["gradflow", "--config", MLP, "--out", w, "--group-depth", "-2"],
                                      "--group-depth", ">= 0"),
        "gradflow --times a,b": (["gradflow", "--config", MLP, "--out", w, "--times", "a,b"], "--times",
                                 "not an integer"),
        "gradflow --times 0,5": (["gradflow", "--config", MLP, "--out", w, "--times", "0,5"], "--times", ">= 1"),
        "gradflow --out FILE": (["gradflow", "--config", MLP, "--out", str(a_file)], "--out", "is a file"),
        "conv-example --size 100000": (["conv-example", "--size", "100000"], "--size", "[1, 64]"),
        "conv-example --stride 0": (["conv-example", "--stride", "0"], "--stride", "[1, 64]"),
        "receptive-field --size -1": (["receptive-field", "--config", MLP, "--size", "-1"], "--size", "[0, 100000]"),
        "visualize --index -1": (["visualize", "--workdir", w, "--index", "-1"], "--index", ">= 0"),
        "sweep --trials -3": ([*sweep, "--trials", "-3"], "--trials", ">= 1"),
        "sweep --storage notaurl://x": ([*sweep, "--storage", "notaurl://x"], "unknown storage scheme", "sqlite:///"),
        "sweep --storage plain": ([*sweep, "--storage", "study.db"], "not a storage URL", "journal:PATH"),
        "sweep --storage sqlite missing dir": ([*sweep, "--storage", "sqlite:////missing_dir/x.db"],
                                               "/missing_dir", "does not exist"),
        "sweep --storage journal missing dir": ([*sweep, "--storage", "journal:/missing_dir/j.log"],
                                                "/missing_dir", "does not exist"),
        "train --config DIRECTORY": (["train", "--config", str(tmp), "--workdir", w], "--config",
                                     "is a directory, not a file"),
        "train --config missing": (["train", "--config", str(tmp / "nope.py"), "--workdir", w], "--config",
                                   "does not exist"),
        "train --workdir ''": (["train", "--config", MLP, "--workdir", ""], "--workdir", "non-empty"),
        "train --num-processes 0": (["train", "--config", MLP, "--workdir", w, "--num-processes", "0"],
                                    "--num-processes", ">= 1"),
        "train num_devices > visible": (["train", "--config", MLP, "--workdir", w, "--config.num_devices=9"],
                                        "config.num_devices=9", "device(s) are visible"),
    }


NAMES = ["decode --beam 0", "decode --beam -3", "decode --examples -5", "decode --batch-size 0", "decode --alpha nan",
         "decode --workdir missing", "inspect --batch-size -4", "inspect --save FILE", "inspect --save under missing",
         "gradflow --group-depth -2", "gradflow --times a,b", "gradflow --times 0,5", "gradflow --out FILE",
         "conv-example --size 100000", "conv-example --stride 0", "receptive-field --size -1", "visualize --index -1",
         "sweep --trials -3", "sweep --storage notaurl://x", "sweep --storage plain",
         "sweep --storage sqlite missing dir", "sweep --storage journal missing dir", "train --config DIRECTORY",
         "train --config missing", "train --workdir ''", "train --num-processes 0", "train num_devices > visible"]


@pytest.mark.parametrize("name", NAMES)
def test_bad_flag_is_one_line_and_exit_2(tmp_path, name):
    cases = _cases(tmp_path)
    assert set(cases) == set(NAMES)
    argv, *phrases = cases[name]
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = run_cli(*argv)
    assert_one_line_error(code, err, *phrases)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written beside the inputs


@pytest.mark.skipif(importlib.util.find_spec("psycopg2") is not None, reason="psycopg2 is installed")
def test_a_url_naming_a_missing_driver_names_what_to_install(tmp_path):
    code, _, err = run_cli("sweep", "--config", MLP, "--space", SPACE, "--workdir", str(tmp_path / "s"),
                           "--storage", "postgresql+psycopg2://user:pw@localhost/db")
    assert_one_line_error(code, err, "psycopg2", "pip install psycopg2-binary")


def test_postgresql_without_its_driver_names_the_extra_to_install(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real(name, *a))
    code, _, err = run_cli("sweep", "--config", MLP, "--space", SPACE, "--workdir", str(tmp_path / "s"),
                           "--storage", "postgresql://user:pw@localhost/db")
    assert_one_line_error(code, err, "psycopg", "pip install 'lectarch[postgres]'")


def test_journal_storage_is_accepted(tmp_path):
    url = f"journal:{tmp_path / 'study.log'}"
    assert storage_url(url) == url
    study = optuna.create_study(storage=make_storage(url), study_name="s")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(optuna.load_study(study_name="s", storage=make_storage(url)).trials) == 2


def test_debug_shows_the_traceback(tmp_path):
    code, _, err = run_cli("train", "--config", MLP, "--workdir", str(tmp_path), "--config.num_devices=9")
    assert code == 2 and "Traceback" not in err
    code, _, err = run_cli("train", "--config", MLP, "--workdir", str(tmp_path), "--config.num_devices=9", "--debug")
    assert code == 2 and "Traceback" in err and "num_devices=9" in err


def test_a_file_storage_may_be_in_the_workdir_a_first_worker_makes(tmp_path):
    """As docs/sweeps.md shows it: ``--workdir /shared/sweeps/lr --storage journal:/shared/sweeps/lr/study.journal``
    before that folder exists. Any other missing folder is one line, before anything is written."""
    from lectarch.config import ConfigError
    from lectarch.sweep.storage import check_storage_folder

    workdir = tmp_path / "sweeps" / "lr"
    for url in (f"journal:{workdir / 'study.journal'}", f"sqlite:///{workdir / 'study.db'}", "postgresql://u:p@h/db"):
        check_storage_folder(url, workdir)
    for url in (f"journal:{tmp_path / 'elsewhere' / 'j.log'}", f"sqlite:///{workdir / 'db' / 'study.db'}"):
        with pytest.raises(ConfigError, match="does not exist"):
            check_storage_folder(url, workdir)
    assert not (tmp_path / "sweeps").exists()
