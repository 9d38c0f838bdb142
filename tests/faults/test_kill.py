"""``kill -9`` where a crash hurts most: in the middle of checkpoint saves (an unfinished temporary
folder, or a finished step whose checksum manifest is not written yet) and just after a save is
complete. Every rerun resumes from the newest finished step, and the last rerun's losses equal an
uninterrupted run's to the last digit. (A kill at a random step: ``tests/train/test_resume.py``.)"""

import os
import pathlib
import re
import subprocess
import sys
import time

from lectarch.experiment import train
from lectarch.train import checksums
from tests.faults.checkpoint_runs import losses, mlp
from tests.faults.common import MLP, run_cli
from tests.helpers import LEAN, REPO, cli_env, flags

STEPS = ("num_steps=40", "log_every=1", "eval_every=20", "checkpoint_every=3", "model.width=16", "progress=false",
         *LEAN)
# Each kill: the first checkpoint step it may hit, and the moment. "saving": a save of this process
# is in flight (its temporary folder exists, or its step folder is finished but has no manifest yet);
# "saved": a save of this process has just been completed, manifest included.
KILLS = ((3, "saving"), (9, "saved"), (15, "saving"), (24, "saving"))


def _start(workdir: pathlib.Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lectarch", "train", "--workdir", str(workdir), "--config",
                             "experiments/configs/mlp_digits.py", *flags(STEPS)],
                            cwd=REPO, env=cli_env(8), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _entries(checkpoints: pathlib.Path) -> dict[str, tuple[int, bool]]:
    """Every checkpoint folder: name -> (its step, whether it is a finished save with its manifest)."""
    try:
        names = os.listdir(checkpoints)
    except FileNotFoundError:
        return {}
    out = {}
    for name in names:
        if m := re.match(r"\d+", name):  # "12", or orbax's "12.orbax-checkpoint-tmp-<time>"
            out[name] = (int(m.group()), name.isdigit() and checksums.has_manifest(checkpoints / name))
    return out


def _kill_at(proc: subprocess.Popen, checkpoints: pathlib.Path, before: set[str], first_step: int, moment: str,
             timeout_s: float = 600) -> None:
    """SIGKILL ``proc`` at ``moment`` of one of its own saves (of a step >= ``first_step``)."""
    want_finished = moment == "saved"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended before the kill ({moment}): {proc.stderr.read()[-2000:]}"
        if any(step >= first_step and finished == want_finished
               for name, (step, finished) in _entries(checkpoints).items() if name not in before):
            proc.kill()  # SIGKILL: no handler, no cleanup
            proc.wait()
            return
        time.sleep(0.001)
    proc.kill()
    raise TimeoutError(f"no save of step >= {first_step} seen {moment} in {timeout_s}s")


def test_kill_9_during_and_after_saves_then_resume_equals_an_uninterrupted_run(tmp_path):
    reference = tmp_path / "reference"
    assert train(mlp(*STEPS), reference).status == "finished"
    workdir = tmp_path / "run"
    checkpoints = workdir / "checkpoints"
    cut, expected_resume = 0, None
    for first_step, moment in KILLS:
        before = set(_entries(checkpoints))
        proc = _start(workdir)
        _kill_at(proc, checkpoints, before, first_step, moment)
        err = proc.stderr.read()
        proc.stderr.close()
        # this process resumed from the newest finished step the previous kill left (or started afresh)
        if expected_resume is None:
            assert "Resuming" not in err, err
        else:
            assert f"Resuming from step {expected_resume} " in err, (moment, expected_resume, err[-2000:])
        left = _entries(checkpoints)
        cut += any(not finished for _, finished in left.values())
        finished_steps = [step for name, (step, _) in left.items() if name.isdigit()]
        expected_resume = max(finished_steps, default=None)
        if moment == "saved":
            assert expected_resume is not None and checksums.verify(checkpoints / str(expected_resume)) is None
    # the last rerun: `lectarch train` in this process (a process of its own would only start JAX again)
    code, _, err = run_cli("train", "--workdir", str(workdir), "--config", MLP, *flags(STEPS))
    assert code == 0, err
    assert f"Resuming from step {expected_resume} " in err, err[-2000:]
    assert losses(workdir) == losses(reference)  # every logged loss, to the last digit
    assert cut >= 2, f"only {cut} of the kills landed in the middle of a save"
    names = os.listdir(checkpoints)
    assert names and all(name.isdigit() for name in names) and len(names) <= 3, names  # no leftovers, 3 kept
