"""Checkpoint averaging (Vaswani et al. 2017, section 6.1): the last N checkpoints of a run averaged
into one.

``average_checkpoints(run, workdir, last, out)`` restores each of ``workdir``'s last ``last``
verified checkpoints into ``run``'s state, averages their parameters (and their moving averages,
where kept) element by element, and writes a new workdir ``out`` holding the run's ``config.json``
and one checkpoint at the latest step: every command that reads a workdir (``evaluate``, ``decode``,
``visualize``, ``gradflow``) reads it as it reads the original. The original is not touched.
"""

import pathlib

import jax
import numpy as np

from lectarch.config import ConfigError
from lectarch.train.checkpoint import Checkpointer
from lectarch.train.run_config import CONFIG_FILE
from lectarch.train.state import TrainState
from lectarch.train.workdir import atomic_write_text, prepare


def mean_of(trees: list) -> object:
    """The element-wise mean of trees of the same structure (in float64, cast back to each leaf's dtype)."""
    return jax.tree.map(lambda *xs: (np.sum([np.asarray(x, np.float64) for x in xs], axis=0) / len(xs)).astype(
        np.asarray(xs[0]).dtype), *trees)


def average_checkpoints(template: TrainState, cfg_json: str, workdir: str | pathlib.Path, last: int,
                        out: str | pathlib.Path) -> tuple[list[int], pathlib.Path]:
    """Average ``workdir``'s last ``last`` verified checkpoints into a new workdir ``out``; returns the
    averaged steps and ``out``. ``template``: a state of the run's structure (``Run.state``)."""
    source = pathlib.Path(workdir).absolute()
    out = pathlib.Path(out).absolute()
    if out == source:
        raise ConfigError(f"--out {out} is the run's own workdir: averaging writes a new workdir and keeps the run's")
    if (out / "checkpoints").exists() and any((out / "checkpoints").iterdir()):
        raise ConfigError(f"--out {out} already holds checkpoints: choose an empty or new folder")
    ckpt = Checkpointer(source / "checkpoints", async_save=False, read_only=True)
    try:
        steps = ckpt.verified_steps()[-last:]
        if len(steps) < last:
            raise ConfigError(f"{source / 'checkpoints'} holds {len(steps)} verified checkpoint(s), fewer than "
                              f"--last {last} (config.max_to_keep sets how many a run keeps)")
        states = [jax.device_get(ckpt.restore(template, step=s)[0]) for s in steps]
    finally:
        ckpt.close()
    latest = states[-1]
    averaged = latest.replace(params=mean_of([s.params for s in states]))
    if latest.ema_params is not None:
        averaged = averaged.replace(ema_params=mean_of([s.ema_params for s in states]))
    out = prepare(out)
    atomic_write_text(out / CONFIG_FILE, cfg_json)
    writer = Checkpointer(out / "checkpoints", async_save=False)
    try:
        writer.save(steps[-1], averaged, {"next_step": steps[-1]})
        writer.wait()
    finally:
        writer.close()
    return steps, out


__all__ = ["average_checkpoints", "mean_of"]
