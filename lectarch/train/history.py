"""A run's history is append-only evidence: what an earlier run wrote is never rewritten by accident.

A workdir's history is what its runs wrote beside the checkpoints: ``metrics.jsonl`` (one row per
logged step), ``run.json`` (how the run ended) and ``config.json`` (the config it was trained with).
A ``train`` may refuse, may start a new run in a workdir without history, or may resume the run the
history belongs to; it never rewrites or truncates that history otherwise. ``check_history`` says
it once, and the loop calls it twice: before building anything (``restored_step=None``: what the
files alone decide) and after restoring the checkpoint (``restored_step``: what the resume would
drop). Each refusal is a ``HistoryError`` (a ``ConfigError``: one line, exit 2) naming what is
kept and the way out; nothing in the workdir has changed when it is raised.

Refused:

- ``checkpoints`` missing or not a folder while the history has rows or a ``run.json``: the run's
  checkpoints are gone, so training would start again from step 0 over its history;
- a history without its ``config.json``: nothing says which config the checkpoints and rows
  belong to, so a resume could not be checked (``lectarch.train.run_config.check_resume``);
- no checkpoint to restore (the folder is empty, or every step was corrupt and set aside) while
  the history shows that one was saved: a ``run.json`` of a finished or interrupted run, or
  ``metrics.jsonl`` rows past ``2 * checkpoint_every`` (a save of step ``C`` has always finished
  before step ``2C`` is logged).

Allowed, as a resume: dropping the rows logged after the restored checkpoint (a ``kill -9``
between two checkpoints, or a latest checkpoint that was corrupt or deleted and the previous one
restored); the resumed run writes the same rows again, bit for bit.

The way out of every refusal is the user's explicit act: put the files back, train in a new
``--workdir``, or move the old workdir aside (``mv WORKDIR WORKDIR.old``) to start afresh there.
"""

import json
import pathlib

from lectarch.config.errors import ConfigError

CHECKPOINTS = "checkpoints"
METRICS, RECORD, CONFIG = "metrics.jsonl", "run.json", "config.json"
# run.json statuses that were written just after a checkpoint of their step was saved
_SAVED_STATUSES = ("finished", "interrupted")


class HistoryError(ConfigError):
    """A command that would rewrite what an earlier run wrote; one line naming what and the way out."""


def _last_logged_step(workdir: pathlib.Path) -> int | None:
    """The largest step of ``metrics.jsonl`` (``None``: no file, or no readable row)."""
    try:
        text = (workdir / METRICS).read_text(errors="replace")
    except OSError:
        return None
    last = None
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int) and not isinstance(row.get("step"), bool):
            last = row["step"] if last is None else max(last, row["step"])
    return last


def _record(workdir: pathlib.Path) -> dict | None:
    try:
        record = json.loads((workdir / RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _evidence(workdir: pathlib.Path) -> list[str]:
    """What the workdir holds of an earlier run's history, in words (empty: no history)."""
    out = []
    last = _last_logged_step(workdir)
    if last is not None:
        out.append(f"{METRICS} rows up to step {last}")
    if (workdir / RECORD).exists():
        record = _record(workdir) or {}
        step = record.get("step")
        out.append(f"{RECORD} ({record.get('status', '?')} at step {step})" if step is not None else RECORD)
    return out


def _step_folders(directory: pathlib.Path) -> list[int]:
    try:
        return sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit() and p.is_dir())
    except OSError:
        return []


def _checkpoint_every(workdir: pathlib.Path, cfg) -> int:
    try:
        saved = json.loads((workdir / CONFIG).read_text())
        every = saved.get("checkpoint_every") if isinstance(saved, dict) else None
    except (OSError, ValueError):
        every = None
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        every = cfg.get("checkpoint_every", 1) if cfg is not None else 1
    return max(int(every), 1)


_WAY_OUT = ("train in a new --workdir, or move this one aside (mv {w} {w}.old) to start afresh; "
            "lectarch never rewrites an earlier run's history")


def check_history(workdir: str | pathlib.Path, cfg=None, restored_step: int | None = None) -> None:
    """Refuse (``HistoryError``) a train in ``workdir`` that would rewrite an earlier run's history.

    ``restored_step=None``: before anything is built (the files alone); else the step of the
    checkpoint the run resumes from (0: none).
    """
    workdir = pathlib.Path(workdir)
    evidence = _evidence(workdir)
    has_steps = bool(_step_folders(workdir / CHECKPOINTS))
    if not evidence and not has_steps:
        return  # a new run (or one that never logged a step): nothing to protect
    way_out = _WAY_OUT.format(w=workdir)
    checkpoints = workdir / CHECKPOINTS
    if evidence and not checkpoints.is_dir():
        what = "is not a folder" if checkpoints.exists() or checkpoints.is_symlink() else "is missing"
        raise HistoryError(f"{checkpoints} {what}, but {workdir} holds an earlier run's history "
                           f"({', '.join(evidence)}): training would restart from step 0 over it. Kept as it is; "
                           f"put the checkpoints back to resume, or {way_out}")
    if not (workdir / CONFIG).exists():
        held = evidence + ([f"checkpoints of steps {_step_folders(checkpoints)}"] if has_steps else [])
        raise HistoryError(f"{workdir / CONFIG} is missing, but {workdir} holds an earlier run's history "
                           f"({', '.join(held)}): without it a resume cannot be checked against the config the run "
                           f"was trained with. Kept as it is; put config.json back (the run's config as JSON) to "
                           f"resume, or {way_out}")
    if restored_step is None or restored_step > 0:
        return
    record = _record(workdir) or {}
    saved_at = record.get("step") if record.get("status") in _SAVED_STATUSES else None
    last, every = _last_logged_step(workdir), _checkpoint_every(workdir, cfg)
    if (isinstance(saved_at, int) and saved_at > 0) or (last is not None and last > 2 * every):
        raise HistoryError(f"no checkpoint in {checkpoints} restores, but {workdir} holds an earlier run's history "
                           f"({', '.join(evidence)}) that saved one: training would restart from step 0 over it. "
                           f"Kept as it is; put the checkpoints back to resume, or {way_out}")


def check_new_run(workdir: str | pathlib.Path, what: str = "this command") -> None:
    """Refuse (``HistoryError``) to start a run that cannot resume (a vmapped sweep's trial) in a
    folder that holds an earlier run's history."""
    workdir = pathlib.Path(workdir)
    evidence = _evidence(workdir)
    if evidence:
        raise HistoryError(f"{workdir} holds an earlier run's history ({', '.join(evidence)}) and {what} does not "
                           f"resume: kept as it is; {_WAY_OUT.format(w=workdir)}")


__all__ = ["HistoryError", "check_history", "check_new_run"]
