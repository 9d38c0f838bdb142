"""Every input the user controls fails in one line: a case per class of bad input (not per example).

Each case runs the command in this process (``lectarch.cli.main``) unless it needs a fresh one (a
backend choice, a locale), and checks the documented exit code, exactly one error line naming the
cause, no traceback, and that nothing was written where the command only reads.
"""

import errno
import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

from lectarch.cli import args as A
from lectarch.cli import errors
from tests.faults.common import MLP, TINY, assert_one_line_error, run_cli, snapshot
from tests.helpers import REPO, cli_env
from tests.shared_runs import shared_folder

FAST = ["--what", "grad", "--no-compile"]  # traces the model and the objective; compiles nothing
TINY_CONFIG = textwrap.dedent("""\
    from lectarch.config import base_config
    from lectarch.data.digits import default_config as digits
    from lectarch.models.mlp import default_config as mlp

    def get_config():
        c = base_config()
        c.model = mlp()
        c.model.width = 16
        c.data = digits()
        c.batch_size = 16
        c.progress = False
        return c
""")


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A folder for config and plug-in files; the plug-ins it imported are forgotten afterwards."""
    before = set(sys.modules)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny_config.py").write_text(TINY_CONFIG)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("plug_"):
            sys.modules.pop(name, None)


# --- config files that are not Python, not a dict, or lack a group -----------------------------------------

def _json_config(**changes) -> str:
    from lectarch.config import base_config

    values = base_config().to_dict()
    values.update(changes)
    return json.dumps({k: v for k, v in values.items() if v is not None})


CONFIG_FILES = {  # file: (its text, a phrase of the error line)
    "x.txt": ("hello\n", "x.txt' is neither a Python file"),
    "x.yaml": ("a: 1\n", "x.yaml' is neither a Python file"),
    "list.json": ("[1, 2]", "list.json' is not a config: it holds a JSON list"),
    "null.json": ("null", "null.json' is not a config: it holds a JSON null"),
    "exits.py": ("import sys\nsys.exit(0)\n", "exits.py' called sys.exit(0)"),
    "no_optimizer.json": (_json_config(optimizer=None), "config has no key 'optimizer'"),
    "no_schedule.json": (_json_config(schedule=None), "config has no key 'schedule'"),
    "model_5.json": (_json_config(model=5), "config.model=5 must be a group of keys"),
    "model_without_name.json": (_json_config(model={"width": 3}), "config.model has no key 'name'"),
}


@pytest.mark.parametrize("name", sorted(CONFIG_FILES))
def test_a_config_that_is_not_a_python_config_is_one_line(folder, name):
    text, phrase = CONFIG_FILES[name]
    (folder / name).write_text(text)
    code, _, err = run_cli("train", "--config", str(folder / name), "--workdir", str(folder / "run"))
    assert_one_line_error(code, err, phrase)
    assert not (folder / "run").exists()


def test_a_config_path_that_is_not_a_regular_file_is_one_line(folder):
    os.mkfifo(folder / "fifo")
    for path, kind in (("/dev/null", "character device"), (str(folder / "fifo"), "FIFO")):
        code, _, err = run_cli("inspect", "--config", path, *FAST)
        assert_one_line_error(code, err, "--config", "exists but is not a regular file", kind)


# --- flags and names the file system or the launcher refuses ------------------------------------------------

def test_a_workdir_name_too_long_for_the_file_system_is_one_line(folder):
    code, _, err = run_cli("train", "--config", MLP, "--workdir", "w" * 300)
    assert_one_line_error(code, err, "--workdir", "too long")
    assert sorted(p.name for p in folder.iterdir()) == ["tiny_config.py"]


def test_a_coordinator_port_out_of_range_and_a_malformed_process_count_name_what_is_wrong():
    for text in ("localhost:99999", "localhost:0", "localhost", "host:http"):
        with pytest.raises(A.argparse.ArgumentTypeError, match="HOST:PORT|port"):
            A.coordinator_address(text)
    assert A.coordinator_address("10.0.0.1:1234") == "10.0.0.1:1234"
    from lectarch.train.distributed import from_flags_or_env

    env = {"JAX_COORDINATOR_ADDRESS": "localhost:1234", "JAX_PROCESS_ID": "0"}
    with pytest.raises(ValueError, match=r"environment variable JAX_NUM_PROCESSES='two' is not an integer"):
        from_flags_or_env(env=dict(env, JAX_NUM_PROCESSES="two"))
    with pytest.raises(ValueError, match=r"JAX_NUM_PROCESSES=0 is out of range"):
        from_flags_or_env(env=dict(env, JAX_NUM_PROCESSES="0"))


# --- values no 32-bit integer holds ------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["seed", "schedule.warmup_steps", "model.width", "num_steps"])
def test_an_integer_past_32_bits_is_out_of_range(key):
    code, _, err = run_cli("inspect", "--config", MLP, *FAST, f"--config.{key}={2**64}")
    assert_one_line_error(code, err, f"config.{key}={2**64}", "out of range", str(2**31 - 1))


# --- modules of the wrong kind, and plug-ins that break the contract ----------------------------------------

@pytest.mark.parametrize("key,module,kind", [("model.name", "lectarch.data.digits", "a model"),
                                             ("data.name", "lectarch.models.mlp", "a dataset"),
                                             ("objective", "lectarch.models.mlp", "an objective"),
                                             ("model.name", "lectarch.train.objectives", "a model")])
def test_a_module_of_the_wrong_kind_names_the_contract(key, module, kind):
    code, _, err = run_cli("inspect", "--config", MLP, *FAST, f"--config.{key}={module}")
    assert_one_line_error(code, err, f"config.{key}={module!r}", f"is not {kind} module", "build(")


def test_a_model_switched_without_its_keys_names_the_missing_key():
    code, _, err = run_cli("inspect", "--config", MLP, *FAST, "--config.model.name=lstm")
    assert_one_line_error(code, err, "config.model.name='lstm' reads the key", "which the config does not have",
                          "lectarch.models.recurrent.default_config()")


MODEL = textwrap.dedent("""\
    from flax import nnx

    class M(nnx.Module):
        def __init__(self, d, n, rngs):
            self.l = nnx.Linear(d, n, rngs=rngs)

        def __call__(self, x, *, train=False, rngs=None):
            x = x.reshape(x.shape[0], -1)
            return self.l(x)

    def build(cfg, spec, rngs):
        return M(spec.num_features, spec.num_outputs, rngs)
""")
# plug-in: (the change to MODEL, what the error line names); FILE stands for the plug-in's path
PLUGINS = {
    "build_raises": (("return M(spec.num_features", "raise ValueError('bad width')  # "), "FILE:12: ValueError: bad width"),
    "build_returns_none": (("return M(spec.num_features", "return None  # "), "breaks the model contract"),
    "validate_config_raises": (("def build(", "def validate_config(cfg):\n    return 1 / 0\n\ndef build("),
                               "validate_config() failed: FILE:12: ZeroDivisionError"),
    "validate_config_reads_a_missing_key": (("def build(", "def validate_config(cfg):\n    return cfg.model.nope\n\n"
                                                          "def build("), "reads the key 'nope', which the config does not "
                                                                         "have (read at FILE:12)"),
    "config_rules_not_a_dict": (("def build(", "CONFIG_RULES = ['width']\n\ndef build("), "CONFIG_RULES=['width'] must be a dict"),
    "call_without_train": (("x, *, train=False, rngs=None", "x"), "takes no train= and no rngs= keyword"),
    "wrong_rank": (("return self.l(x)", "return self.l(x)[:, 0]"), "do not fit config.objective='classification'"),
    "untraceable": (("return self.l(x)", "return self.l(x) if x.sum() > 0 else -self.l(x)"),
                    "FILE:9: TracerBoolConversionError"),
}


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_a_plugin_that_breaks_the_contract_is_one_line_naming_its_file_or_the_contract(folder, name):
    (old, new), phrase = PLUGINS[name]
    assert old in MODEL
    path = folder / f"plug_{name}.py"
    path.write_text(MODEL.replace(old, new, 1))
    code, _, err = run_cli("inspect", "--config", str(folder / "tiny_config.py"), *FAST,
                           f"--config.model.name=plug_{name}")
    assert_one_line_error(code, err, phrase.replace("FILE", str(path)))


def test_a_plugin_without_a_capability_names_the_capability(folder):
    (folder / "plug_plain.py").write_text(MODEL)
    cfg = str(folder / "tiny_config.py")
    code, _, err = run_cli("receptive-field", "--config", cfg, "--config.model.name=plug_plain")
    assert_one_line_error(code, err, "ReceptiveFields")
    code, _, err = run_cli("gradflow", "--config", cfg, "--out", str(folder / "out"), "--probe", "time",
                           "--config.model.name=plug_plain")
    assert_one_line_error(code, err, "need a recurrent model")


# --- run files of an earlier run --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> pathlib.Path:
    """The ``TINY`` run of ``MLP`` (checkpoints at steps 2, 4, 6), trained once per pytest run: copy it."""
    def train(workdir: pathlib.Path) -> None:
        code, _, err = run_cli("train", "--config", MLP, "--workdir", str(workdir), *TINY)
        assert code == 0, err

    return shared_folder(tmp_path_factory, "mlp_tiny_cli", train)


@pytest.mark.parametrize("text", ["{oops", "[1, 2]", '{"step": "six"}'])
def test_a_malformed_run_record_is_refused_and_nothing_changes(trained, tmp_path, text):
    workdir = tmp_path / "run"
    shutil.copytree(trained, workdir)
    (workdir / "run.json").write_text(text)
    before = snapshot(workdir)
    code, _, err = run_cli("train", "--config", MLP, "--workdir", str(workdir), *TINY)
    assert_one_line_error(code, err, str(workdir / "run.json"), "is not a run record")
    assert {k: v for k, v in snapshot(workdir).items() if k != ".lock"} == {
        k: v for k, v in before.items() if k != ".lock"}


@pytest.mark.parametrize("text", ["{oops", "[]", '{"files": []}', '{"files": {"a": 5}}'])
def test_a_malformed_checksum_manifest_marks_its_checkpoint_corrupt_in_one_line(trained, tmp_path, text):
    from lectarch.train import checksums

    step_dir = tmp_path / "4"
    shutil.copytree(trained / "checkpoints" / "4", step_dir)
    assert checksums.verify(step_dir) is None
    (step_dir / checksums.MANIFEST).write_text(text)
    problem = checksums.verify(step_dir)
    assert problem is not None and checksums.MANIFEST in problem and "\n" not in problem


# --- the machine: memory, disk, backend, locale, Ctrl-C ------------------------------------------------------

def test_a_model_larger_than_memory_is_one_line_naming_its_size_keys(tmp_path):
    code, _, err = run_cli("gradflow", "--config", MLP, "--out", str(tmp_path / "out"), "--config.model.width=1000000")
    assert_one_line_error(code, err, "out of memory", "config.model.width=1000000")


def test_gradflow_on_a_full_disk_names_the_file_and_leaves_no_writer_behind(tmp_path, monkeypatch):
    import matplotlib.figure

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full)
    code, _, err = run_cli("gradflow", "--config", MLP, "--out", str(tmp_path / "out"), "--config.model.width=8")
    assert_one_line_error(code, err, str(tmp_path / "out" / "layers.png"), os.strerror(errno.ENOSPC))


def test_a_full_disk_at_the_tensorboard_flush_names_the_folder(tmp_path, monkeypatch):
    import tensorboardX.record_writer

    def full(self):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tensorboardX.record_writer.RecordWriter, "flush", full)
    code, _, err = run_cli("gradflow", "--config", MLP, "--out", str(tmp_path / "out"), "--config.model.width=8")
    assert_one_line_error(code, err, str(tmp_path / "out" / "tensorboard"), os.strerror(errno.ENOSPC))


def test_no_usable_dev_shm_is_blamed_on_dev_shm_not_on_the_folder_being_written(tmp_path, monkeypatch):
    import _multiprocessing

    from tensorboardX import SummaryWriter

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(_multiprocessing, "SemLock", read_only)
    try:
        try:
            SummaryWriter(str(tmp_path / "tensorboard"))  # its queue's lock is a semaphore in /dev/shm
        except OSError as e:  # what a writer that names its folder makes of it
            raise OSError(e.errno, e.strerror, str(tmp_path / "tensorboard")) from e
    except OSError as e:
        message, code = errors.one_line(e)
    assert code == 2 and message.startswith("POSIX shared memory (/dev/shm) cannot be used: Read-only file system")
    assert str(tmp_path) not in message


def _python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**cli_env(), **env}, capture_output=True,
                          text=True, timeout=120)


def test_a_backend_that_is_not_there_is_one_line_naming_jax_platforms():
    out = _python(f"import sys; from lectarch.cli import main; sys.exit(main(['inspect', '--config', {MLP!r}, "
                  f"'--no-compile']))", JAX_PLATFORMS="tpu")
    assert_one_line_error(out.returncode, out.stderr, "Unable to initialize backend 'tpu'", "JAX_PLATFORMS")


def test_a_non_ascii_path_under_the_c_locale_works(tmp_path):
    save = tmp_path / "r\u00e9sultats"
    out = _python(f"import os, sys; from lectarch.cli import main; sys.exit(main(['inspect', '--config', {MLP!r}, "
                  f"'--what', 'forward', '--no-compile', '--save', os.environ['SAVE']]))",
                  SAVE=str(save), LC_ALL="C", LANG="C", PYTHONCOERCECLOCALE="0", PYTHONUTF8="0")
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert (save / "forward.jaxpr.txt").is_file()
    message, code = errors.one_line(UnicodeEncodeError("ascii", "r\u00e9", 1, 2, "ordinal not in range(128)"))
    assert code == 2 and "LC_ALL=C.UTF-8" in message and "\n" not in message


def test_ctrl_c_during_start_up_is_one_line_and_exit_130(folder, monkeypatch, capsys):
    (folder / "slow.py").write_text("def get_config():\n    raise KeyboardInterrupt\n")
    code, _, err = run_cli("train", "--config", str(folder / "slow.py"), "--workdir", str(folder / "run"))
    assert code == 130 and "Traceback" not in err
    assert [line for line in err.splitlines() if line.strip()] == ["lectarch train: interrupted (Ctrl-C)"]
    assert not (folder / "run").exists()

    import lectarch.cli

    def interrupted(argv=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(lectarch.cli, "main", interrupted)
    with pytest.raises(SystemExit) as e:
        lectarch.cli.entry()
    assert e.value.code == 130 and "Traceback" not in capsys.readouterr().err


# --- a workdir deleted while a run holds it ---------------------------------------------------------------

def test_a_workdir_deleted_or_replaced_while_locked_is_detected(tmp_path):
    from lectarch.train.workdir import RunLock
    from lectarch.train.workdir_lost import WorkdirLost, check_lock, lock_lost

    workdir = tmp_path / "run"
    workdir.mkdir()
    with RunLock(workdir) as lock:
        fd = lock._fd
        assert lock_lost(lock.path, fd) is None
        shutil.rmtree(workdir)
        assert "was deleted or moved" in lock_lost(lock.path, fd)
        (workdir / "checkpoints").mkdir(parents=True)  # what orbax did: the folder made again
        (workdir / ".lock").write_text("")
        with pytest.raises(WorkdirLost, match="was replaced while training"):
            check_lock(lock.path, fd)

