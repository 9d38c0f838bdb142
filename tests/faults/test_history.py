"""A run's history (metrics.jsonl, run.json, config.json) is never rewritten by a later train:
each way of losing the checkpoints or the config beside it is refused in one line, exit 2, with
every file of the workdir byte for byte as it was (lectarch.train.history)."""

import json
import shutil

import pytest

from lectarch.train.history import HistoryError, check_history, check_new_run
from tests.faults.common import MLP, TINY, assert_one_line_error, run_cli, snapshot


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 6-step run: rows at steps 2, 4, 6, checkpoints every 2 steps, run.json."""
    workdir = tmp_path_factory.mktemp("history") / "run"
    code, _, err = run_cli("train", "--workdir", str(workdir), "--config", MLP, *TINY)
    assert code == 0, err
    return workdir


@pytest.fixture
def run(finished, tmp_path):
    return shutil.copytree(finished, tmp_path / "run")


def _train_again(workdir, *extra):
    return run_cli("train", "--workdir", str(workdir), "--config", MLP, *TINY, "--config.num_steps=10", *extra)


def test_removed_checkpoints_folder_is_refused_and_the_history_kept(run):
    shutil.rmtree(run / "checkpoints")
    before = snapshot(run)
    code, _, err = _train_again(run)
    assert_one_line_error(code, err, f"{run / 'checkpoints'} is missing", "metrics.jsonl rows up to step 6",
                          "run.json (finished at step 6)", "new --workdir")
    assert snapshot(run) == before


def test_checkpoints_replaced_by_a_file_is_refused_and_nothing_claims_they_are_kept(run):
    shutil.rmtree(run / "checkpoints")
    (run / "checkpoints").write_text("not a folder\n")
    before = snapshot(run)
    code, _, err = _train_again(run)
    line = assert_one_line_error(code, err, "is not a folder", "metrics.jsonl rows up to step 6")
    assert "Earlier checkpoints are kept" not in err and "NotADirectoryError" not in line
    assert snapshot(run) == before


def test_a_resume_without_config_json_is_refused_with_the_way_out(run):
    (run / "config.json").unlink()
    before = snapshot(run)
    code, _, err = _train_again(run, "--config.learning_rate=0.5")
    assert_one_line_error(code, err, f"{run / 'config.json'} is missing", "put config.json back", "new --workdir")
    assert "Resuming" not in err and snapshot(run) == before


def test_no_checkpoint_left_in_the_folder_is_refused_after_the_restore(run):
    for step_dir in (run / "checkpoints").iterdir():
        shutil.rmtree(step_dir)
    before = snapshot(run)
    code, _, err = _train_again(run)
    assert_one_line_error(code, err, "no checkpoint in", "restores", "training would restart from step 0")
    assert snapshot(run) == before


def test_rows_that_no_checkpoint_could_have_kept_are_rewritten_as_a_resume(tmp_path):
    """A run killed before its first checkpoint finished (rows up to 2 * checkpoint_every, no
    run.json) restarts from 0: nothing saved is lost, and the same rows are written again."""
    workdir = tmp_path / "run"
    (workdir / "checkpoints").mkdir(parents=True)
    (workdir / "config.json").write_text(json.dumps({"checkpoint_every": 2}))
    (workdir / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "split": "train", "loss": 1.0}) + "\n"
                                                   for s in (1, 2, 3, 4)))
    check_history(workdir, None)
    check_history(workdir, None, restored_step=0)  # steps <= 2C: the save of step 2 may not have finished
    (workdir / "metrics.jsonl").open("a").write(json.dumps({"step": 5, "split": "train", "loss": 1.0}) + "\n")
    with pytest.raises(HistoryError, match="no checkpoint in .* restores"):
        check_history(workdir, None, restored_step=0)  # step 5 was logged after step 2's save finished
    check_history(workdir, None, restored_step=2)  # a resume from step 2 drops rows 3..5 and writes them again


def test_a_new_workdir_and_one_moved_aside_start_afresh(run, tmp_path):
    check_history(tmp_path / "new", None)
    check_history(tmp_path / "new", None, restored_step=0)
    moved = tmp_path / "moved"
    run.rename(moved)  # `mv WORKDIR WORKDIR.old`, the way out every refusal names
    check_history(run, None, restored_step=0)


def test_a_run_that_cannot_resume_is_refused_over_an_earlier_history(run, tmp_path):
    with pytest.raises(HistoryError, match=r"metrics\.jsonl rows up to step 6.* the vmapped sweep does not resume"):
        check_new_run(run, "the vmapped sweep")
    check_new_run(tmp_path / "fresh", "the vmapped sweep")


def test_a_checkpoints_file_in_a_new_workdir_is_one_line_and_nothing_is_written(tmp_path):
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "checkpoints").write_text("not a folder\n")
    code, _, err = run_cli("train", "--workdir", str(workdir), "--config", MLP, *TINY)
    assert_one_line_error(code, err, f"{workdir / 'checkpoints'} is not a folder")
    assert sorted(p.name for p in workdir.iterdir()) == [".lock", "checkpoints"]
