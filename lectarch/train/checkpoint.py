"""Orbax checkpoints: asynchronous saves, ``max_to_keep``, no leftover temporary directories, and
restore that skips a partial or corrupt latest checkpoint in favour of the previous good one.

A checkpoint holds the whole ``TrainState`` (parameters, optimiser state, step, RNG key) and the
data position as JSON. Saves and restores are collective across processes.
"""

import pathlib
import shutil
import sys

import jax
import orbax.checkpoint as ocp

from lectarch.train.state import TrainState


class Checkpointer:
    def __init__(self, directory: str | pathlib.Path, max_to_keep: int = 3, async_save: bool = True):
        self.directory = pathlib.Path(directory).absolute()
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep, cleanup_tmp_directories=True, create=True,
            enable_async_checkpointing=async_save)
        self.manager = ocp.CheckpointManager(self.directory, options=options)

    def save(self, step: int, state: TrainState, data_position: dict) -> None:
        self.manager.save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data_position)), force=True)

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def restore(self, target: TrainState, step: int | None = None) -> tuple[TrainState, dict, int] | None:
        """The newest checkpoint (or checkpoint ``step``) that restores cleanly into ``target``'s
        structure and shardings.

        A checkpoint that fails to restore is reported, moved aside to ``<dir>-corrupt/<step>``
        (so the run can save that step again) and skipped.
        """
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
        steps = sorted(self.manager.all_steps(), reverse=True)
        if step is not None:
            steps = [s for s in steps if s == step]
        for step in steps:
            try:
                restored = self.manager.restore(step, args=ocp.args.Composite(
                    state=ocp.args.StandardRestore(abstract), data=ocp.args.JsonRestore()))
                return restored.state, restored.data, step
            except Exception as e:  # noqa: BLE001 - any failure means this checkpoint is unusable
                print(f"warning: checkpoint at step {step} in {self.directory} is unreadable "
                      f"({type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}); "
                      f"skipping it for the previous one", file=sys.stderr)
                self._set_aside(step)
        return None

    def _set_aside(self, step: int) -> None:
        if jax.process_index() == 0:
            aside = self.directory.parent / (self.directory.name + "-corrupt")
            aside.mkdir(exist_ok=True)
            src = self.directory / str(step)
            if src.exists():
                dst = aside / str(step)
                if dst.exists():
                    shutil.rmtree(dst)
                shutil.move(str(src), str(dst))
        self.manager.reload()

    def wait(self) -> None:
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()
