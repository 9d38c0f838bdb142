"""Run files that survive crashes: metrics.jsonl cut mid-line, rows logged after the last checkpoint,
a damaged config.json, and resuming with keys that would rewrite the run's history."""

import json
import shutil

import pytest

from lectarch.train.metrics import MetricsFileError, parse_metrics
from lectarch.train.run_config import RESUMABLE_KEYS, history_changes
from tests.faults.common import MLP, TINY, assert_one_line_error, run_cli, snapshot, train_losses


def _train(workdir, *extra):
    return run_cli("train", "--config", MLP, "--workdir", str(workdir), *TINY, *extra)


def test_parse_metrics_skips_a_cut_last_line_and_names_other_bad_lines(capsys):
    good = '{"step": 2, "split": "train", "loss": 1.5}\n{"step": 4, "split": "train", "loss": 1.0}\n'
    assert [r["step"] for r in parse_metrics(good + '{"step": 6, "spl')] == [2, 4]
    assert "truncated last line 3" in capsys.readouterr().err
    with pytest.raises(MetricsFileError, match="line 2 is unreadable"):
        parse_metrics('{"step": 2, "split": "train"}\ngarbage\n{"step": 4, "split": "train"}\n')
    with pytest.raises(MetricsFileError, match="line 1 is unreadable"):
        parse_metrics('{"loss": 1.0}\n')  # a record without its step is not one of ours


def test_resume_after_a_cut_line_and_rows_past_the_checkpoint_reads_as_one_run(tmp_path, tiny_losses):
    run = tmp_path / "run"
    code, _, err = _train(run, "--config.num_steps=4")
    assert code == 0, err
    with (run / "metrics.jsonl").open("a") as f:  # what a crash after step 6's log and mid-write leaves
        f.write(json.dumps({"step": 6, "split": "train", "loss": 999.0}) + "\n")
        f.write('{"step": 8, "split": "tr')
    code, _, err = _train(run)  # resumes from the checkpoint at step 4
    assert code == 0, err
    assert "Resuming from step 4" in err and "truncated last line" in err
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    # the eval at 4 ended the first, shorter run; the stale row 6 and the cut line are gone
    assert [(r["step"], r["split"]) for r in rows] == [(2, "train"), (4, "train"), (4, "eval"), (6, "train"),
                                                       (6, "eval")]
    assert train_losses(run) == tiny_losses  # the stale 999.0 is gone, step 6 is the real one


def test_an_unreadable_line_in_the_middle_is_one_line_naming_it(tmp_path):
    assert _train(tmp_path, "--config.num_steps=4")[0] == 0
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    (tmp_path / "metrics.jsonl").write_text("\n".join([lines[0], "#garbage", *lines[1:]]) + "\n")
    before = snapshot(tmp_path)
    code, _, err = _train(tmp_path)
    assert_one_line_error(code, err, "metrics.jsonl", "line 2 is unreadable")
    assert snapshot(tmp_path) == before


def test_corrupt_config_json_beside_good_checkpoints_is_a_clear_error(tmp_path):
    assert _train(tmp_path, "--config.num_steps=4")[0] == 0
    (tmp_path / "config.json").write_text('{"seed": 0, "num_st')  # cut by a crash
    before = snapshot(tmp_path)
    code, _, err = _train(tmp_path, "--config.model.width=32")
    assert_one_line_error(code, err, "config.json", "unreadable", "Restore the file", "new --workdir")
    assert snapshot(tmp_path) == before  # no checkpoint set aside, no fresh start


def test_corrupt_config_json_without_checkpoints_starts_afresh(tmp_path):
    tmp_path.joinpath("config.json").write_text("{not json")
    code, _, err = _train(tmp_path, "--config.num_steps=2")
    assert code == 0, err
    assert json.loads((tmp_path / "config.json").read_text())["num_steps"] == 2


@pytest.fixture(scope="module")
def trained_once(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("trained_once")
    assert _train(workdir, "--config.num_steps=2")[0] == 0
    return workdir


@pytest.mark.parametrize("change, shown", [("--config.batch_size=32", "batch_size: 16 -> 32"),
                                           ("--config.seed=7", "seed: 0 -> 7"),
                                           ("--config.learning_rate=0.1", "learning_rate: 0.001 -> 0.1")])
def test_resuming_with_a_history_changing_key_is_refused(trained_once, tmp_path, change, shown):
    tmp_path = tmp_path / "run"
    shutil.copytree(trained_once, tmp_path)
    before = snapshot(tmp_path)
    code, _, err = _train(tmp_path, change)
    assert_one_line_error(code, err, "cannot resume", shown)
    assert snapshot(tmp_path) == before  # config.json still says how the steps were trained


def test_resumable_keys_may_change():
    saved = {"num_steps": 10, "eval_every": 5, "seed": 0, "model": {"width": 16}}
    now = {"num_steps": 20, "eval_every": 2, "seed": 0, "model": {"width": 16}}
    assert {"num_steps", "eval_every", "log_every", "checkpoint_every"} <= RESUMABLE_KEYS
    assert history_changes(saved, now) == []
    assert history_changes(saved, dict(now, seed=1)) == ["seed: 0 -> 1"]
    assert history_changes(saved, dict(now, model={"width": 16, "depth": 2})) == ["model.depth: (absent) -> 2"]
