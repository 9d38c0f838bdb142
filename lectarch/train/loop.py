"""The training loop: the edge where jit, sharding, data, checkpoints, logging and signals meet.

``train(cfg, workdir)`` resumes from the workdir's latest good checkpoint, if any, and is
bit-identical to a run that was never interrupted: the data position is the step, per-step
randomness is ``fold_in(key(seed), step)``, and the compiled step is the same program.
"""

import contextlib
import dataclasses
import functools
import pathlib
import signal
import sys
import time
from collections.abc import Callable

import jax
import ml_collections
from flax import nnx
import numpy as np

from lectarch.config import ConfigError
from lectarch.data import pipeline
from lectarch.experiment import build_objective
from lectarch.models.capabilities import DecodeMetrics, Pictures
from lectarch.train import memory, restore, sharding
from lectarch.train.checkpoint import Checkpointer, CheckpointSaveError
from lectarch.train.evaluate import eval_sums, means
from lectarch.train.metrics import MetricsWriter
from lectarch.train.profile import StepProfiler
from lectarch.train.progress import make_progress
from lectarch.train.run_config import CONFIG_FILE, check_resume
from lectarch.train.run_record import read_record, write_record
from lectarch.train.state import count_params, merge
from lectarch.train.step import make_eval_step, make_train_step
from lectarch.train.workdir import RunLock, atomic_write_text, prepare

EXIT_OK, EXIT_CONFIG, EXIT_NONFINITE, EXIT_SAVE = 0, 2, 3, 4


@dataclasses.dataclass
class Result:
    status: str  # "finished" | "interrupted" | "nonfinite" | "save_failed"
    step: int
    best_eval: dict
    last_eval: dict
    wall_time: float
    workdir: pathlib.Path
    num_params: int
    message: str = ""

    @property
    def exit_code(self) -> int:
        return {"nonfinite": EXIT_NONFINITE, "save_failed": EXIT_SAVE}.get(self.status, EXIT_OK)


class _StopRequest:
    """SIGTERM/SIGINT set a flag; the loop saves a checkpoint and returns at the next step."""

    def __init__(self):
        self.signal_name = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not in the main thread
                pass
        return self

    def _handle(self, signum, frame):
        self.signal_name = signal.Signals(signum).name

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _is_boundary(step: int, every: int, last: int) -> bool:
    return step % every == 0 or step == last


def evaluate(eval_step, mesh, state, dataset, batch_size: int) -> dict:
    batches = pipeline.eval_batches(dataset, batch_size=batch_size, process_index=jax.process_index(),
                                    process_count=jax.process_count())
    return means(*eval_sums(eval_step, state, (sharding.global_batch(mesh, b) for b in batches)))


def _better(new: dict, best: dict) -> bool:
    if not best:
        return True
    if "accuracy" in new:
        return new["accuracy"] > best["accuracy"]
    return new["loss"] < best["loss"]


def _host_model(graphdef, state) -> Callable[[], nnx.Module]:
    """The model on the host, copied from the devices on first use and then reused: the eval
    hooks below share one copy of the state per eval (none when no hook runs)."""
    return functools.cache(lambda: merge(graphdef, jax.device_get(state)))


def _decode_metrics(cfg, model_type: type, host_model: Callable[[], nnx.Module], dataset) -> dict:
    """Metrics that need the model's own outputs fed back (e.g. greedy decoding): the
    ``DecodeMetrics`` capability (``lectarch.models.capabilities``)."""
    if not issubclass(model_type, DecodeMetrics):
        return {}
    return host_model().decode_metrics(dataset, cfg.eval_batch_size)


def _write_pictures(cfg, model_type: type, host_model: Callable[[], nnx.Module], dataset, writer: MetricsWriter,
                    step: int) -> list[pathlib.Path]:
    if not issubclass(model_type, Pictures) or not cfg.get("pictures", True) or jax.process_index() != 0:
        return []
    images = host_model().pictures(pipeline.stack([dataset.eval[0]])["inputs"])
    return [p for name, img in images.items() if (p := writer.image(step, name, img)) is not None]


def train(cfg: ml_collections.ConfigDict, workdir: str | pathlib.Path, *, resume_command: str = "",
          on_eval: Callable[[int, dict], None] | None = None) -> Result:
    """Train (or resume) the experiment ``cfg`` in ``workdir``.

    ``on_eval(step, eval_metrics)``, if given, runs after each evaluation (a sweep reports to its
    trial there); an exception it raises (e.g. ``optuna.TrialPruned``) stops the run after the
    checkpoints are flushed and the files closed, and propagates to the caller. The workdir's run
    lock is held throughout: a second run on it stops with ``WorkdirLocked``, changing nothing.
    """
    workdir = prepare(workdir)
    # One lock per run: process 0 holds it (the other processes of a multi-host run share the workdir).
    with RunLock(workdir) if jax.process_index() == 0 else contextlib.nullcontext():
        check_resume(workdir, cfg)
        return _train_locked(cfg, workdir, resume_command=resume_command, on_eval=on_eval)


def _check_step_fits(cfg, mesh, dataset, train_step, state) -> None:
    """A batch larger than the training split, or a step that cannot fit in memory, is a config error."""
    if cfg.batch_size > len(dataset.train):
        raise ConfigError(f"config.batch_size={cfg.batch_size} is out of range: the training split has only "
                          f"{len(dataset.train)} examples")
    element = pipeline.train_stream(dataset, cfg.seed)[0]
    batch = jax.tree.map(lambda x: jax.ShapeDtypeStruct((cfg.batch_size, *np.shape(x)), np.asarray(x).dtype,
                                                        sharding=sharding.batch_sharding(mesh)), element)
    compiled = train_step.lower(state, batch).compile()
    memory.check_step_memory(compiled, mesh, memory.size_keys(cfg))


def _train_locked(cfg: ml_collections.ConfigDict, workdir: pathlib.Path, *, resume_command: str,
                  on_eval: Callable[[int, dict], None] | None) -> Result:
    t0 = time.time()

    run = restore.build(cfg)
    mesh, dataset, graphdef, state = run.mesh, run.dataset, run.graphdef, run.state
    num_params = count_params(state)
    model_type = type(merge(graphdef, state))  # what the eval hooks may use (lectarch.models.capabilities)
    objective = build_objective(cfg)
    # logged, evaluated and checkpointed steps check the loss and every updated parameter, so a saved
    # state is always finite; the lean steps between them skip the gradient norms and check what
    # config.nonfinite_check says. On finite steps both update the state alike, bit for bit.
    train_step = sharding.jit_train_step(mesh, make_train_step(graphdef, run.tx, objective,
                                                               cfg.get("log_grad_norms", False), nonfinite_check="params"))
    lean_step = sharding.jit_train_step(mesh, make_train_step(graphdef, run.tx, objective, lean=True,
                                                              nonfinite_check=cfg.get("nonfinite_check", "params")))
    eval_step = sharding.jit_eval_step(mesh, make_eval_step(graphdef, objective))
    _check_step_fits(cfg, mesh, dataset, train_step, state)

    ckpt = Checkpointer(workdir / "checkpoints", keep=cfg.get("max_to_keep", 3))
    start = 0
    restored = ckpt.restore(state)
    if restored is not None:
        state, _, start = restored
        print(f"Resuming from step {start} ({ckpt.directory})", file=sys.stderr)
    record = read_record(workdir, start) if start else None
    if record is not None and start >= cfg.num_steps:  # nothing left to do: the run's own summary
        ckpt.close()
        return Result(status=record["status"], step=start, best_eval=record["best_eval"],
                      last_eval=record["last_eval"], wall_time=record["wall_time"], workdir=workdir,
                      num_params=num_params)
    writer = MetricsWriter(workdir, resume_step=start)  # first: a damaged metrics.jsonl changes nothing
    if jax.process_index() == 0:
        atomic_write_text(workdir / CONFIG_FILE, cfg.to_json(indent=2) + "\n")

    batches = pipeline.train_batches(dataset, batch_size=cfg.batch_size, seed=cfg.seed, start_step=start,
                                     process_index=jax.process_index(), process_count=jax.process_count(),
                                     num_workers=cfg.get("data_workers", 0))
    best, last_eval, status, message = (record or {}).get("best_eval", {}), {}, "finished", ""
    t0 -= (record or {}).get("wall_time", 0.0)  # a resumed run's wall time includes the time before
    progress = make_progress(cfg.num_steps, start, enabled=cfg.get("progress", True) and jax.process_index() == 0,
                             every_s=cfg.get("progress_every_s", 30.0))
    profiler = StepProfiler(workdir / "profile", cfg.profile.start, cfg.profile.steps,
                            active=jax.process_index() == 0) if "profile" in cfg else None
    step, t_log, s_log = start, time.time(), start
    try:
        with _StopRequest() as stop:
            while step < cfg.num_steps:
                if stop.signal_name:
                    ckpt.save(step, state, {"next_step": step})  # no-op if this step is saved already
                    ckpt.wait()
                    status = "interrupted"
                    message = (f"{stop.signal_name} received: saved a checkpoint at step {step}. "
                               f"Resume with the same command{': ' + resume_command if resume_command else ''}")
                    break
                if profiler:
                    profiler.before(step)
                step += 1
                log = _is_boundary(step, cfg.log_every, cfg.num_steps)
                do_eval = _is_boundary(step, cfg.eval_every, cfg.num_steps)
                do_ckpt = _is_boundary(step, cfg.checkpoint_every, cfg.num_steps)
                step_fn = train_step if (log or do_eval or do_ckpt) else lean_step
                state, metrics = step_fn(state, sharding.global_batch(mesh, next(batches)))
                if profiler:
                    profiler.after(step, (state, metrics))
                progress.update(1)
                if not (log or do_eval or do_ckpt):
                    continue
                m = jax.device_get(metrics)  # the only host sync: at log, eval and checkpoint steps
                ckpt.poll()  # a failed or hung asynchronous save is reported here
                if int(m["nonfinite_step"]) >= 0:
                    bad = int(m["nonfinite_step"]) + 1
                    status = "nonfinite"
                    verified = ckpt.verified_steps()
                    kept = (f"The last checkpoint that verified (step {verified[-1]}) is kept in {ckpt.directory}"
                            if verified else "No checkpoint has been saved yet")
                    message = f"non-finite loss or gradient at step {bad}: stopped. {kept}"
                    break
                if log:
                    now = time.time()
                    scalars = {k: float(v) for k, v in m.items() if k != "nonfinite_step"}
                    scalars["steps_per_sec"] = (step - s_log) / max(now - t_log, 1e-9)
                    writer.write(step, "train", scalars)
                    progress.set_postfix(loss=f"{scalars['loss']:.4g}", refresh=False)
                    t_log, s_log = now, step
                if do_eval:
                    last_eval = evaluate(eval_step, mesh, state, dataset, cfg.eval_batch_size)
                    host_model = _host_model(graphdef, state)
                    last_eval.update(_decode_metrics(cfg, model_type, host_model, dataset))
                    last_eval.update({f"baseline_{k}": v for k, v in dataset.baseline.items()})
                    writer.write(step, "eval", last_eval)
                    best = dict(last_eval, step=step) if _better(last_eval, best) else best
                    _write_pictures(cfg, model_type, host_model, dataset, writer, step)
                    if on_eval is not None:
                        on_eval(step, dict(last_eval))  # may raise (e.g. a pruned sweep trial)
                if do_ckpt:
                    ckpt.save(step, state, {"next_step": step})
            ckpt.wait()
    except CheckpointSaveError as e:
        status, message = "save_failed", f"error: {e}. Earlier checkpoints are kept; free the cause and rerun to resume"
    finally:  # also when on_eval or anything else raises: flush checkpoints, close files
        if profiler:
            profiler.close(state)
        progress.close()
        try:
            ckpt.close()
        except CheckpointSaveError as e:
            status, message = "save_failed", f"error: {e}. Earlier checkpoints are kept; free the cause and rerun to resume"
        writer.close()
    result = Result(status=status, step=step, best_eval=best, last_eval=last_eval, wall_time=time.time() - t0,
                    workdir=workdir, num_params=num_params, message=message)
    if jax.process_index() == 0 and status != "nonfinite":
        write_record(workdir, status=status, step=step, best_eval=best, last_eval=last_eval,
                     wall_time=result.wall_time, num_params=num_params)
    return result


def _tensorboard_program() -> str:
    """``tensorboard`` when it is on the PATH, else the one installed beside this Python (a venv's)."""
    import os
    import shutil

    beside = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    return "tensorboard" if shutil.which("tensorboard") or not os.path.exists(beside) else beside


def summary(result: Result) -> str:
    lines = []
    if result.message:
        lines.append(result.message)
    lines.append(f"{result.status} at step {result.step} in {result.wall_time:.1f}s "
                 f"({result.num_params:,} parameters)")
    if result.best_eval:
        metrics = ", ".join(f"{k}={v:.4f}" for k, v in result.best_eval.items() if k != "step")
        lines.append(f"best eval (step {result.best_eval['step']}): {metrics}")
    if result.last_eval:
        metrics = ", ".join(f"{k}={v:.4f}" for k, v in result.last_eval.items())
        lines.append(f"last eval: {metrics}")
    w = result.workdir
    lines.append(f"outputs in {w}:")
    lines.append(f"  metrics     {w / 'metrics.jsonl'}")
    lines.append(f"  config      {w / 'config.json'}")
    lines.append(f"  checkpoints {w / 'checkpoints'}")
    lines.append(f"  tensorboard {_tensorboard_program()} --logdir {w / 'tensorboard'}")
    if (w / "pictures").exists():
        lines.append(f"  pictures    {w / 'pictures'}")
    return "\n".join(lines)


__all__ = ["EXIT_CONFIG", "EXIT_NONFINITE", "EXIT_OK", "EXIT_SAVE", "Result", "evaluate", "summary", "train"]
