"""Damaged checkpoints are corruption (set aside by train only), misfitting ones are a mismatch
(nothing moved), and read-only commands never change a workdir."""

import json
import pathlib
import shutil

import pytest

from lectarch.train import checksums
from lectarch.train.checkpoint import CheckpointCorrupt, Checkpointer, CheckpointMismatch
from lectarch.experiment import train
from tests.faults.checkpoint_runs import copy_run, data_files, losses, mlp, seq2seq_run, snapshot, trained  # noqa: F401
from tests.faults.common import run_cli


@pytest.fixture
def run(mlp_run) -> pathlib.Path:
    """A finished 20-step run with checkpoints at steps 10 and 20 (shared: tests copy it)."""
    return mlp_run


@pytest.fixture
def reference(mlp_30_losses) -> dict[int, float]:
    """The losses of an uninterrupted 30-step run of the same config."""
    return mlp_30_losses


def _flip_bit(path: pathlib.Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def _overwrite(path: pathlib.Path) -> None:
    data = bytearray(path.read_bytes())
    n = min(400, len(data) // 2)
    data[len(data) // 4:len(data) // 4 + n] = b"\xab" * n
    path.write_bytes(bytes(data))


def _truncate(path: pathlib.Path) -> None:
    path.write_bytes(path.read_bytes()[:7])


def _delete(path: pathlib.Path) -> None:
    path.unlink()


@pytest.mark.parametrize("damage", [_flip_bit, _overwrite, _truncate, _delete])
def test_damaged_latest_checkpoint_is_set_aside_and_the_run_resumes_exactly(run, reference, tmp_path, capsys, damage):
    workdir = copy_run(run, tmp_path / "run")
    victim = data_files(workdir / "checkpoints" / "20")[0]
    damage(victim)
    assert checksums.verify(workdir / "checkpoints" / "20") is not None  # the checksums see it, whatever it was
    capsys.readouterr()
    result = train(mlp("num_steps=30"), workdir)
    err = capsys.readouterr().err
    assert "checkpoint at step 20" in err and "is corrupt" in err and victim.name in err
    assert "Resuming from step 10" in err
    assert (workdir / "checkpoints-corrupt" / "20").is_dir()
    assert result.status == "finished" and result.step == 30
    assert losses(workdir) == reference  # steps 11..30 redone from the good checkpoint, to the last digit


def test_a_deleted_step_folder_falls_back_to_the_previous_one(run, reference, tmp_path, capsys):
    workdir = copy_run(run, tmp_path / "run")
    shutil.rmtree(workdir / "checkpoints" / "20")
    capsys.readouterr()
    result = train(mlp("num_steps=30"), workdir)
    assert "Resuming from step 10" in capsys.readouterr().err
    assert result.step == 30 and losses(workdir) == reference
    assert not (workdir / "checkpoints-corrupt").exists()  # nothing was damaged, nothing set aside


def test_a_data_position_that_disagrees_with_its_step_is_corrupt(run, reference, tmp_path, capsys):
    workdir = copy_run(run, tmp_path / "run")
    step_dir = workdir / "checkpoints" / "20"
    meta = step_dir / "data" / "metadata"
    meta.write_text(json.dumps({"next_step": 17}))
    checksums.write_manifest(step_dir)  # intact bytes, wrong content: only the step check can see it
    with pytest.raises(CheckpointCorrupt, match=r"step 20 .*data position .*17.* disagrees with its step"):
        Checkpointer(workdir / "checkpoints", read_only=True).restore(_fresh_state(), step=20)
    capsys.readouterr()
    result = train(mlp("num_steps=30"), workdir)
    err = capsys.readouterr().err
    assert "checkpoint at step 20" in err and "disagrees with its step" in err and "Resuming from step 10" in err
    assert (workdir / "checkpoints-corrupt" / "20").is_dir() and losses(workdir) == reference


def _fresh_state(*overrides):
    from lectarch.data import build_dataset
    from lectarch.train.state import init_state

    cfg = mlp(*overrides)
    return init_state(cfg, build_dataset(cfg).spec)[1]


def test_a_checkpoint_that_does_not_fit_the_config_is_a_mismatch_and_nothing_moves(run, tmp_path):
    workdir = copy_run(run, tmp_path / "run")
    before = snapshot(workdir)
    # a writable Checkpointer (as train's), asked to restore into a wider model's state
    with pytest.raises(CheckpointMismatch, match=r"step 20 .* does not fit the config: params\.hidden\.0\.bias"
                                                 r"\.value: checkpoint \(16,\) float32, config \(32,\) float32"):
        Checkpointer(workdir / "checkpoints", async_save=False).restore(_fresh_state("model.width=32"))
    assert snapshot(workdir) == before and not (workdir / "checkpoints-corrupt").exists()


def test_verified_steps_are_the_ones_whose_bytes_match(run, tmp_path):
    workdir = copy_run(run, tmp_path / "run")
    ckpt = Checkpointer(workdir / "checkpoints", read_only=True)
    assert ckpt.verified_steps() == [10, 20]
    _flip_bit(data_files(workdir / "checkpoints" / "10")[0])
    assert ckpt.verified_steps() == [20]


def test_nonfinite_stop_names_the_last_verified_checkpoint_or_none(tmp_path):
    first = train(mlp("optimizer.name=sgd", "learning_rate=1e30", "checkpoint_every=10"), tmp_path / "a")
    assert first.status == "nonfinite" and "No checkpoint has been saved yet" in first.message
    workdir = trained(tmp_path / "b", "optimizer.name=sgd")
    _flip_bit(data_files(workdir / "checkpoints" / "20")[0])
    saved = json.loads((workdir / "config.json").read_text())
    saved["learning_rate"] = 1e30  # the user's own edit of the run's config: a resume takes it
    (workdir / "config.json").write_text(json.dumps(saved))
    cfg = mlp("num_steps=40", "learning_rate=1e30", "optimizer.name=sgd")
    result = train(cfg, workdir)  # 20 is corrupt and set aside; resumes at 10, diverges at once
    assert result.status == "nonfinite" and "last checkpoint that verified (step 10)" in result.message


# --- read-only commands: the workdir stays byte-identical ---------------------------------------

def _mismatch(*argv: str) -> str:
    """``lectarch ARGV`` in this process (a process of its own would only start JAX again): exit 2, no
    traceback; its output."""
    code, out, err = run_cli(*argv)
    text = out + err
    assert code == 2 and "Traceback" not in text, (code, text)
    return text


def test_gradflow_with_another_config_is_a_mismatch_and_changes_nothing(run, tmp_path):
    workdir = copy_run(run, tmp_path / "run")
    before = snapshot(workdir)
    text = _mismatch("gradflow", "--config", "experiments/configs/mlp_digits.py", "--workdir", str(workdir),
                     "--out", str(tmp_path / "out"), "--probe", "layers")
    assert "does not fit the config" in text
    assert snapshot(workdir) == before


def test_read_only_restore_skips_a_corrupt_checkpoint_without_moving_it(run, tmp_path, capsys):
    workdir = copy_run(run, tmp_path / "run")
    _truncate(data_files(workdir / "checkpoints" / "20")[0])
    before = snapshot(workdir)
    restored = Checkpointer(workdir / "checkpoints", read_only=True).restore(_fresh_state())
    assert restored is not None and restored[2] == 10
    assert "nothing is moved" in capsys.readouterr().err
    assert snapshot(workdir) == before


def test_read_only_opening_creates_no_checkpoints_folder(tmp_path):
    ckpt = Checkpointer(tmp_path / "checkpoints", read_only=True)
    assert ckpt.steps() == [] and ckpt.restore(_fresh_state()) is None
    ckpt.close()
    assert list(tmp_path.iterdir()) == []


def test_visualize_on_an_edited_config_is_a_mismatch_and_changes_nothing(seq2seq_run, tmp_path):
    workdir = copy_run(seq2seq_run, tmp_path / "run")
    cfg = json.loads((workdir / "config.json").read_text())
    cfg["model"]["d_model"] = 64
    (workdir / "config.json").write_text(json.dumps(cfg))
    before = snapshot(workdir)
    text = _mismatch("visualize", "--workdir", str(workdir))
    assert "does not fit the config" in text and "(32,)" in text and "(64,)" in text
    assert snapshot(workdir) == before


def test_decode_with_another_width_is_a_mismatch_and_changes_nothing(seq2seq_run, tmp_path):
    workdir = copy_run(seq2seq_run, tmp_path / "run")
    before = snapshot(workdir)
    text = _mismatch("decode", "--workdir", str(workdir), "--config.model.d_model=64", "--examples", "4")
    assert "does not fit the config" in text and "(32,)" in text and "(64,)" in text
    assert snapshot(workdir) == before


def test_a_probe_folder_left_by_a_killed_process_is_removed_when_a_run_opens_its_checkpoints(tmp_path):
    """``kill -9`` between the write probe's ``mkdir`` and ``rmdir`` leaves an empty folder; the next
    writer removes it, and leaves the probe of a process that is alive and every read-only open alone."""
    import os
    import subprocess

    from lectarch.train.checkpoint import PROBE

    dead = subprocess.Popen(["true"])
    dead.wait()
    ckpts = tmp_path / "checkpoints"
    ckpts.mkdir()
    stale, alive = ckpts / f"{PROBE}{dead.pid}", ckpts / f"{PROBE}{os.getppid()}"
    stale.mkdir()
    alive.mkdir()
    Checkpointer(ckpts, read_only=True)
    assert stale.is_dir()
    Checkpointer(ckpts)
    assert not stale.exists() and alive.is_dir()
