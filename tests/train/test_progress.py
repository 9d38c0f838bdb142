"""Progress off a terminal is plain lines (no carriage returns); a finished run's rerun prints the
run's own summary (its evals and original wall time)."""

import io
import re

from lectarch.experiment import train
from lectarch.train.loop import summary
from lectarch.train.progress import PlainProgress, format_eta, make_progress
from tests.helpers import LEAN, config, flags, lectarch

TINY = ["num_steps=6", "log_every=2", "eval_every=3", "checkpoint_every=3", "model.width=8", *LEAN]


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_plain_progress_prints_step_loss_rate_and_eta_every_n_seconds():
    out, clock = io.StringIO(), FakeClock()
    p = PlainProgress(100, 0, every_s=10, file=out, clock=clock)
    for _ in range(20):  # 20 steps in 8 s: under every_s, no line yet
        clock.t += 0.4
        p.update()
    assert out.getvalue() == ""
    p.set_postfix(loss="0.5")
    for _ in range(5):  # 25 steps in 10 s: one line, 2.5 steps/s, 75 steps left = 30 s
        clock.t += 0.4
        p.update()
    assert out.getvalue() == "step 25/100  loss 0.5  2.5 steps/s  ETA 30s\n"
    clock.t += 1.0
    p.update(75)
    p.close()  # the last line: no ETA once done
    assert out.getvalue().splitlines()[-1] == "step 100/100  loss 0.5  75.0 steps/s"


def test_format_eta():
    assert [format_eta(s) for s in (0, 59.4, 61, 3600 * 2 + 61)] == ["0s", "59s", "1m01s", "2h01m01s"]


def test_progress_is_a_bar_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert isinstance(make_progress(10, 0, enabled=True, every_s=1, file=io.StringIO()), PlainProgress)
    bar = make_progress(10, 0, enabled=True, every_s=1, file=Tty())
    assert type(bar).__name__ == "tqdm"
    bar.close()


def test_cli_progress_in_a_log_file_is_one_plain_line_per_interval(tmp_path):
    r = lectarch("train", "--config", "experiments/configs/mlp_digits.py", "--workdir", str(tmp_path),
                 *flags(TINY), "--config.progress_every_s=1e-9", devices=1)
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr
    lines = re.findall(r"^step (\d+)/6(  loss [\d.]+)?  [\d.]+ steps/s", r.stderr, re.M)
    assert [int(step) for step, _ in lines] == [1, 2, 3, 4, 5, 6], r.stderr
    assert all(loss for step, loss in lines if int(step) > 2), r.stderr  # after the first logged loss (step 2)


def test_rerunning_a_finished_run_prints_its_real_summary(tmp_path):
    cfg = config("mlp_digits", "progress=false", *TINY)
    first = train(cfg, tmp_path)
    again = train(cfg, tmp_path)
    assert again.status == "finished" and again.step == 6
    assert again.best_eval == first.best_eval and again.best_eval["step"] in (3, 6)
    assert again.last_eval == first.last_eval and again.last_eval
    assert again.wall_time == first.wall_time
    assert summary(again) == summary(first)


def test_a_resumed_run_keeps_the_best_eval_of_its_first_part(tmp_path):
    whole = train(config("mlp_digits", "progress=false", *TINY), tmp_path / "whole")
    train(config("mlp_digits", "progress=false", *TINY[1:], "num_steps=3"), tmp_path / "parts")
    resumed = train(config("mlp_digits", "progress=false", *TINY), tmp_path / "parts")
    assert resumed.best_eval == whole.best_eval
    assert resumed.last_eval == whole.last_eval
