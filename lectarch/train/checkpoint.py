"""Orbax checkpoints that tell corruption from mismatch, and a failed save from a good one.

A checkpoint ``<dir>/<step>/`` holds the whole ``TrainState`` (parameters, optimiser state, step,
RNG key), the data position as JSON, and a manifest of its files' checksums (``checksums.py``),
written once the asynchronous save is complete.

Restoring a step, newest first:

1. its files are checked against the manifest: a missing, truncated or changed file is corruption;
2. its saved tree (keys, shapes, dtypes) is compared with the target: a checkpoint that reads but
   does not fit the config is a ``CheckpointMismatch`` naming the differing keys and shapes, and
   nothing is moved;
3. it is restored, and its data position must equal its step.

A corrupt step is reported by name and the previous one is tried. Only a writable ``Checkpointer``
(``train``, a sweep trial) sets it aside, to ``<dir>-corrupt/<step>``; a ``read_only=True`` one
(``visualize``, ``decode``, ``inspect``, ``gradflow``) never creates, moves, deletes or writes
anything. A save that fails (a full disk, an unwritable folder, an asynchronous write that failed
or hangs past ``save_timeout`` seconds) raises ``CheckpointSaveError`` naming the path and the
cause; the checkpoints saved before it are kept. A folder that cannot take a new step folder
(immutable, read-only) is found before orbax starts its save threads, so the process exits at once.
"""

import contextlib
import errno
import logging
import os
import pathlib
import shutil
import sys
import time

import jax
import orbax.checkpoint as ocp

from lectarch.config import ConfigError
from lectarch.train import checksums
from lectarch.train.state import TrainState
from lectarch.train.tree_names import path_name
from lectarch.train.workdir import describe_os_error, pid_alive


class CheckpointCorrupt(Exception):
    """A checkpoint that cannot be read as saved (missing files, bad bytes, a partial save)."""

    def __init__(self, step: int, path: pathlib.Path, reason: str):
        super().__init__(f"checkpoint at step {step} ({path}) is corrupt: {reason}")
        self.step, self.path, self.reason = step, path, reason


class CheckpointMismatch(ConfigError):
    """A checkpoint that reads but does not fit the config's model or optimiser (exit 2)."""


PROBE = ".lectarch-write-test-"  # + the pid: the folder that checks a step folder can be created


class CheckpointSaveError(Exception):
    """A checkpoint that could not be saved; earlier checkpoints are intact."""


def _flat_shapes(tree) -> dict[str, tuple]:
    """``{"params.hidden.0.kernel.value": (shape, dtype)}`` of a tree of arrays or array metadata."""
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {path_name(path, keep_value=True): (tuple(leaf.shape), str(leaf.dtype)) for path, leaf in leaves
            if hasattr(leaf, "shape")}


def tree_differences(saved, target) -> list[str]:
    """What differs between a checkpoint's saved tree and ``target``'s (keys, shapes, dtypes)."""
    a, b = _flat_shapes(saved), _flat_shapes(target)
    order = lambda keys: sorted(keys, key=lambda k: (not k.startswith("params."), k))  # noqa: E731 - parameters first
    out = [f"{k}: only in the checkpoint" for k in order(set(a) - set(b))]
    out += [f"{k}: only in the config's state" for k in order(set(b) - set(a))]
    for k in order(set(a) & set(b)):
        if a[k] != b[k]:
            out.append(f"{k}: checkpoint {a[k][0]} {a[k][1]}, config {b[k][0]} {b[k][1]}")
    return out


class _DropReadOnlyNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Given directory is read only")


@contextlib.contextmanager
def _quiet_read_only_notice():
    """Orbax logs ``WARNING:absl:Given directory is read only=...`` for every read-only manager, i.e.
    for every command that only reads a run; reading is what was asked, so that one line is dropped."""
    absl_logger, notice = logging.getLogger("absl"), _DropReadOnlyNotice()
    absl_logger.addFilter(notice)
    try:
        yield
    finally:
        absl_logger.removeFilter(notice)


class Checkpointer:
    def __init__(self, directory: str | pathlib.Path, keep: int = 3, async_save: bool = True,
                 read_only: bool = False, save_timeout: float = 600.0):
        self.directory = pathlib.Path(directory).absolute()
        self.read_only, self.save_timeout = read_only, save_timeout
        if self.directory.exists() and not self.directory.is_dir():  # orbax would fail in a thread, then wait
            raise ConfigError(f"{self.directory} is not a folder, so it holds no checkpoints and takes none; move it "
                              f"aside or choose another --workdir")
        self._pending: tuple[int, float] | None = None  # (step, start time) of an unfinished save
        if read_only:
            options = ocp.CheckpointManagerOptions(read_only=True, create=False, cleanup_tmp_directories=False,
                                                   save_interval_steps=0, enable_async_checkpointing=False)
        else:
            options = ocp.CheckpointManagerOptions(
                preservation_policy=ocp.checkpoint_managers.LatestN(n=keep), cleanup_tmp_directories=True,
                create=True, enable_async_checkpointing=async_save)
        try:
            with _quiet_read_only_notice():
                self.manager = ocp.CheckpointManager(self.directory, options=options)
        except OSError as e:
            raise CheckpointSaveError(f"cannot open checkpoints in {self.directory}: {describe_os_error(e)}") from e
        if not read_only:
            self._remove_stale_probes()

    # --- which steps exist, and which verify -------------------------------------------------
    def steps(self) -> list[int]:
        return sorted(self.manager.all_steps())

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def verified_steps(self) -> list[int]:
        """Steps whose files all match the checksums written when they were saved."""
        self.wait()
        return [s for s in self.steps() if checksums.has_manifest(self._dir(s)) and
                checksums.verify(self._dir(s)) is None]

    def _dir(self, step: int) -> pathlib.Path:
        return self.directory / str(step)

    # --- saving --------------------------------------------------------------------------------
    def save(self, step: int, state: TrainState, data_position: dict) -> bool:
        """Start saving ``step`` (asynchronously); ``False`` if that step is already saved."""
        self.wait()  # the previous save: its failure is reported here, its manifest written
        if step in self.manager.all_steps():
            return False
        self._check_writable(step)
        self._check_free_space(step, state)
        try:
            self.manager.save(step, args=ocp.args.Composite(
                state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data_position)), force=True)
        except Exception as e:  # noqa: BLE001 - any failure to write is reported the same way
            raise self._save_error(step, e) from e
        self._pending = (step, time.time())
        self.poll()
        return True

    def _save_error(self, step: int, e: BaseException) -> CheckpointSaveError:
        self._discard_partial(step)
        return CheckpointSaveError(f"could not save the checkpoint of step {step} to {self.directory}: "
                                   f"{describe_os_error(e)}")

    def _check_writable(self, step: int) -> None:
        """A folder that cannot take a new step folder (immutable, read-only, gone) fails here, before
        orbax starts its save threads: once started, they wait minutes at exit for a folder that was
        never created."""
        probe = self.directory / f"{PROBE}{os.getpid()}"
        try:
            probe.mkdir()
            probe.rmdir()
        except OSError as e:
            cause = describe_os_error(OSError(e.errno, e.strerror))  # the folder, not the probe's name
            raise CheckpointSaveError(f"could not save the checkpoint of step {step} to {self.directory}: {cause} "
                                      f"(no step folder can be created there)") from e

    def _remove_stale_probes(self) -> None:
        """The empty probe folder of a process killed between its ``mkdir`` and ``rmdir`` (kill -9)."""
        for probe in self.directory.glob(f"{PROBE}*"):
            pid = probe.name.removeprefix(PROBE)
            if pid.isdigit() and not pid_alive(int(pid)):
                try:
                    probe.rmdir()
                except OSError:
                    pass

    def _check_free_space(self, step: int, state: TrainState) -> None:
        previous = self.manager.latest_step()
        need = (checksums.disk_bytes(self._dir(previous)) if previous is not None and self._dir(previous).is_dir()
                else sum(x.nbytes for x in jax.tree.leaves(state) if hasattr(x, "nbytes")))
        try:
            free = shutil.disk_usage(self.directory).free
        except OSError:
            return
        if free < need:
            raise CheckpointSaveError(
                f"could not save the checkpoint of step {step} to {self.directory}: "
                f"{os.strerror(errno.ENOSPC)} (about {need / 1e6:.1f} MB needed, {free / 1e6:.1f} MB free)")

    def poll(self) -> None:
        """Cheap check between steps: a finished save gets its manifest, a failed or hung one raises."""
        if self._pending is None:
            return
        step, started = self._pending
        if self.manager.is_saving_in_progress():
            if time.time() - started > self.save_timeout:
                self._pending = None
                raise CheckpointSaveError(f"the checkpoint of step {step} to {self.directory} has not finished "
                                          f"after {self.save_timeout:g}s (a hung file system?)")
            return
        self._pending = None
        try:
            self.manager.check_for_errors()
            self.manager.wait_until_finished()
        except Exception as e:  # noqa: BLE001
            raise self._save_error(step, e) from e
        if not (self._dir(step).is_dir() and ocp.step.is_path_finalized(self._dir(step))):
            # orbax's background thread logs a failed write and leaves the step unfinalised
            free = shutil.disk_usage(self.directory).free if self.directory.is_dir() else 0
            cause = os.strerror(errno.ENOSPC) if free < (1 << 20) else "its files were not finalised (see the log above)"
            self._discard_partial(step)
            raise CheckpointSaveError(f"could not save the checkpoint of step {step} to {self.directory}: {cause}")
        if jax.process_index() == 0:
            try:
                checksums.write_manifest(self._dir(step))
            except OSError as e:
                raise self._save_error(step, e) from e

    def wait(self) -> None:
        """Until the pending save is complete (and its manifest written), at most ``save_timeout``."""
        while self._pending is not None and self.manager.is_saving_in_progress():
            if time.time() - self._pending[1] > self.save_timeout:
                break
            time.sleep(0.01)
        self.poll()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            try:
                self.manager.close()
            except Exception:  # noqa: BLE001 - a failure here was already reported by wait()
                pass

    def _discard_partial(self, step: int) -> None:
        """A failed save is a partial one: set its folder aside so no later run restores it."""
        try:
            if self._dir(step).exists():
                self._set_aside(step)
        except OSError:  # e.g. a full disk refusing even the folder; a restart cleans it up
            pass

    # --- restoring -----------------------------------------------------------------------------
    def restore(self, target: TrainState, step: int | None = None) -> tuple[TrainState, dict, int] | None:
        """``(state, data_position, step)`` of ``step`` or, by default, the newest good checkpoint.

        A corrupt checkpoint is reported on stderr, set aside unless read-only, and the previous
        one is tried (with an explicit ``step``, it raises ``CheckpointCorrupt``). A checkpoint
        that does not fit ``target`` raises ``CheckpointMismatch``. ``None`` if none is left.
        """
        abstract = jax.tree.map(ocp.tree.to_shape_dtype_struct, target)
        candidates = [step] if step is not None else sorted(self.steps(), reverse=True)
        for s in candidates:
            try:
                state, data = self._restore_step(s, abstract)
                return state, data, s
            except CheckpointCorrupt as e:
                if step is not None:
                    raise
                self._report_corrupt(e)
        return None

    def _restore_step(self, step: int, abstract) -> tuple[TrainState, dict]:
        path = self._dir(step)
        if not path.is_dir():
            raise CheckpointCorrupt(step, path, "its folder is missing")
        if checksums.has_manifest(path):
            problem = checksums.verify(path)
            if problem:
                raise CheckpointCorrupt(step, path, problem)
        else:
            print(f"warning: checkpoint at step {step} ({path}) has no checksum manifest (it was saved "
                  f"without one, or the run stopped before writing it): restoring it unverified", file=sys.stderr)
        try:
            saved = ocp.StandardCheckpointHandler().metadata(path / "state")
        except Exception as e:  # noqa: BLE001 - unreadable metadata is corruption
            raise CheckpointCorrupt(step, path, f"its metadata is unreadable ({describe_os_error(e)})") from e
        diffs = tree_differences(saved, abstract)
        if diffs:
            more = f" (and {len(diffs) - 5} more)" if len(diffs) > 5 else ""
            raise CheckpointMismatch(
                f"checkpoint at step {step} in {self.directory} does not fit the config: {'; '.join(diffs[:5])}{more}. "
                f"Use the config it was trained with, or a new --workdir")
        try:
            restored = self.manager.restore(step, args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract), data=ocp.args.JsonRestore()))
        except Exception as e:  # noqa: BLE001 - it fit the target, so a failure to read is corruption
            raise CheckpointCorrupt(step, path, f"unreadable ({describe_os_error(e)})") from e
        data = restored.data
        if not isinstance(data, dict) or data.get("next_step") != step:
            raise CheckpointCorrupt(step, path, f"its saved data position {data!r} disagrees with its step "
                                                f"(expected next_step={step})")
        return restored.state, data

    def _report_corrupt(self, e: CheckpointCorrupt) -> None:
        if self.read_only:
            print(f"warning: {e}; trying the previous one (nothing is moved)", file=sys.stderr)
            return
        aside = self._set_aside(e.step)
        print(f"warning: {e}; moved it to {aside}, trying the previous one", file=sys.stderr)

    def _set_aside(self, step: int) -> pathlib.Path:
        aside = self.directory.parent / (self.directory.name + "-corrupt") / str(step)
        if jax.process_index() == 0:
            aside.parent.mkdir(exist_ok=True)
            src = self._dir(step)
            if src.exists():
                if aside.exists():
                    shutil.rmtree(aside)
                shutil.move(str(src), str(aside))
        self.manager.reload()
        return aside


__all__ = ["CheckpointCorrupt", "CheckpointMismatch", "CheckpointSaveError", "Checkpointer", "tree_differences"]
