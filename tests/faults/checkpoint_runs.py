"""Small runs shared by the fault tests: a tiny MLP and a tiny copy-task Transformer trained in-process
(the finished ones once per test run), file snapshots."""

import hashlib
import pathlib
import shutil

import pytest

from lectarch.experiment import train
from lectarch.train.metrics import read_metrics
from tests.helpers import LEAN, config
from tests.shared_runs import shared_folder

MLP = ("num_steps=20", "log_every=5", "eval_every=20", "checkpoint_every=10", "model.width=16", "progress=false",
       *LEAN)


def mlp(*overrides: str):
    return config("mlp_digits", *MLP, *overrides)


def trained(workdir: pathlib.Path, *overrides: str) -> pathlib.Path:
    result = train(mlp(*overrides), workdir)
    assert result.status == "finished", result.message
    return workdir


@pytest.fixture(scope="session")
def mlp_run(tmp_path_factory) -> pathlib.Path:
    """A finished 20-step run with checkpoints at steps 10 and 20, shared by the test run: copy it
    (``copy_run``) before changing anything in it."""
    return shared_folder(tmp_path_factory, "mlp_20_steps", trained)


@pytest.fixture(scope="session")
def mlp_30_losses(tmp_path_factory) -> dict[int, float]:
    """The losses of an uninterrupted 30-step run of the same config."""
    return losses(shared_folder(tmp_path_factory, "mlp_30_steps", lambda d: trained(d, "num_steps=30")))


def _train_copy_task(workdir: pathlib.Path) -> None:
    """One encoder and one decoder layer of width 32: what the tests read of it is the checkpoint's
    shapes and that it decodes."""
    cfg = ["num_steps=4", "log_every=2", "eval_every=4", "checkpoint_every=4", "model.d_model=32",
           "model.d_ff=64", "model.num_heads=2", "model.num_encoder_layers=1", "model.num_decoder_layers=1",
           "batch_size=16", "eval_batch_size=64", "data.eval_size=64", "data.decode_examples=0",
           "data.train_size=512", "progress=false", *LEAN]
    assert train(config("transformer_copy", *cfg), workdir).status == "finished"


@pytest.fixture(scope="session")
def seq2seq_run(tmp_path_factory) -> pathlib.Path:
    return shared_folder(tmp_path_factory, "transformer_copy_4_steps", _train_copy_task)


def copy_run(src: pathlib.Path, dst: pathlib.Path) -> pathlib.Path:
    shutil.copytree(src, dst)
    return dst


def losses(workdir: pathlib.Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in read_metrics(workdir, "train")}


def snapshot(root: pathlib.Path) -> dict[str, tuple]:
    """Every path under ``root`` with its kind, bytes' hash and modification time."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        kind = "dir" if p.is_dir() else "file"
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if kind == "file" else ""
        # the run lock's file is rewritten (same bytes) by every train that takes the lock
        mtime = st.st_mtime_ns if kind == "file" and p.name != ".lock" else 0
        out[p.relative_to(root).as_posix()] = (kind, digest, mtime)
    return out


def data_files(step_dir: pathlib.Path) -> list[pathlib.Path]:
    """The array data files of a checkpoint (the ones a flipped bit would silently change)."""
    files = [p for p in step_dir.rglob("*") if p.is_file() and p.parent.name == "d" and p.stat().st_size > 0]
    assert files, f"no data files under {step_dir}"
    return sorted(files, key=lambda p: p.stat().st_size, reverse=True)
