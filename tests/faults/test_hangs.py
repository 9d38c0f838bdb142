"""Nothing hangs: a batch-like value too large for memory is one line before anything is built, and a
checkpoints folder that cannot take a save ends the run at once (exit 4), with no save thread left
behind. Each case runs under a deadline, so a regression fails instead of hanging the suite."""

import contextlib
import shutil
import signal
import subprocess
import threading

import numpy as np
import pytest

from lectarch.config import ConfigError
from lectarch.train.memory import check_batch_sizes
from tests.faults.checkpoint_runs import copy_run, seq2seq_run  # noqa: F401 - a fixture
from tests.faults.common import MLP, TINY, assert_one_line_error, run_cli

HUGE = "1000000000"


@contextlib.contextmanager
def deadline(seconds: int):
    """Raise ``TimeoutError`` in the test if the block runs longer than ``seconds``."""
    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds}s: a hang")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_batch_sizes_are_checked_before_a_batch_is_built():
    row = {"inputs": np.zeros((8, 8), np.float32), "label": np.int32(0)}  # 260 bytes
    check_batch_sizes({"config.eval_batch_size": 512}, row)
    with pytest.raises(ConfigError, match=r"config\.eval_batch_size=1000000000 is out of range: the batch alone "
                                          r"needs about .* \(260 bytes per row\) .* reduce config\.eval_batch_size"):
        check_batch_sizes({"config.eval_batch_size": 10**9}, row)
    with pytest.raises(ConfigError, match=r"--batch-size=2000 is out of range: the training split has only 1437"):
        check_batch_sizes({"--batch-size": 2000}, row, split=("the training split", 1437))
    with pytest.raises(ConfigError, match="at least 1 row"):
        check_batch_sizes({"--beam": 0}, 100)


def test_a_huge_eval_batch_is_refused_before_training(tmp_path):
    with deadline(240):
        code, _, err = run_cli("train", "--workdir", str(tmp_path / "run"), "--config", MLP, *TINY,
                               f"--config.eval_batch_size={HUGE}")
    assert_one_line_error(code, err, f"config.eval_batch_size={HUGE}")
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


def test_a_huge_gradflow_batch_is_refused_before_it_is_built(tmp_path):
    with deadline(240):
        code, _, err = run_cli("gradflow", "--config", MLP, "--config.model.width=16", "--batch-size", HUGE,
                               "--out", str(tmp_path / "gradflow"))
    assert_one_line_error(code, err, f"--batch-size={HUGE} is out of range", "training split")


def test_a_huge_beam_is_refused_before_it_is_built(seq2seq_run, tmp_path):
    workdir = str(copy_run(seq2seq_run, tmp_path / "copy"))  # a trained sequence-to-sequence Transformer
    with deadline(240):
        code, _, err = run_cli("decode", "--workdir", workdir, "--beam", "100000000", "--examples", "2")
    assert_one_line_error(code, err, "--beam=100000000 is out of range", "reduce --beam")


def _chattr(flag: str, path) -> bool:
    return shutil.which("chattr") is not None and subprocess.run(
        ["chattr", flag, str(path)], capture_output=True).returncode == 0


def test_an_immutable_checkpoints_folder_ends_the_run_at_once_with_exit_4(tmp_path):
    workdir = tmp_path / "run"
    code, _, err = run_cli("train", "--workdir", str(workdir), "--config", MLP, *TINY)
    assert code == 0, err
    if not _chattr("+i", workdir / "checkpoints"):
        pytest.skip("chattr +i needs root on a file system that has the attribute")
    try:
        with deadline(240):
            code, _, err = run_cli("train", "--workdir", str(workdir), "--config", MLP, *TINY,
                                   "--config.num_steps=10")
    finally:
        _chattr("-i", workdir / "checkpoints")
    assert code == 4, err
    assert "could not save the checkpoint of step 8" in err and "Operation not permitted" in err
    assert "Traceback" not in err
    # orbax started no save, so no thread of it waits (minutes, at exit) for a folder never created
    assert not [t for t in threading.enumerate() if type(t).__name__ == "_SignalingThread" and t.is_alive()]
