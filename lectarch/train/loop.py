"""The training loop: the edge where jit, sharding, data, checkpoints, logging and signals meet.

``train(run, workdir)`` resumes from the workdir's latest good checkpoint, if any, and is
bit-identical to a run that was never interrupted: the data position is the step, per-step
randomness is ``fold_in(key(seed), step)``, and the compiled step is the same program.
``run_loop`` is the loop itself, shared with the vmapped sweep (``lectarch.sweep.vmapped``): the
same step boundaries, evaluation schedule and metric rows, with a trial axis as a parameter.
"""

import contextlib
import dataclasses
import functools
import pathlib
import sys
import time
from collections.abc import Callable

import jax
import ml_collections
import numpy as np
from flax import nnx

from lectarch.data import pipeline
from lectarch.models.capabilities import DecodeMetrics, Pictures
from lectarch.train import preemption, sharding
from lectarch.train.checkpoint import Checkpointer, CheckpointSaveError
from lectarch.train.evaluate import eval_sums, means
from lectarch.train.flow import flow_warning, make_flow_fn
from lectarch.train.history import HistoryError, check_history
from lectarch.train.metrics import MetricsWriter
from lectarch.train.profile import StepProfiler
from lectarch.train.progress import make_progress
from lectarch.train.run import Run
from lectarch.train.run_config import CONFIG_FILE, check_resume
from lectarch.train.run_record import read_record, write_record
from lectarch.train.state import count_params, merge
from lectarch.train.step import STEP_KINDS
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


@dataclasses.dataclass(frozen=True)
class Boundary:
    """What happens after a step besides the update: the same rule for a run and for vmapped trials."""

    log: bool
    eval: bool
    checkpoint: bool

    @property
    def any(self) -> bool:
        """A boundary step runs the logging step and syncs with the host; the others run the lean step."""
        return self.log or self.eval or self.checkpoint


def boundary(cfg: ml_collections.ConfigDict, step: int) -> Boundary:
    """The boundary after ``step`` (1-based: the number of updates done), from ``*_every`` and ``num_steps``."""
    at = lambda every: step % every == 0 or step == cfg.num_steps  # noqa: E731
    return Boundary(log=at(cfg.log_every), eval=at(cfg.eval_every), checkpoint=at(cfg.checkpoint_every))


def write_rows(writers: list[MetricsWriter], step: int, split: str, metrics: dict) -> None:
    """One row per writer: the metrics of a run (one writer), or row ``k`` of each leading trial axis."""
    metrics = {k: v for k, v in metrics.items() if k != "nonfinite_step"}
    if len(writers) == 1 and all(np.ndim(v) == 0 for v in metrics.values()):
        writers[0].write(step, split, {k: float(v) for k, v in metrics.items()})
        return
    for k, w in enumerate(writers):
        w.write(step, split, {name: float(v[k]) if np.ndim(v) else float(v) for name, v in metrics.items()})


def evaluate(eval_step, mesh, state, dataset, batch_size: int, place=None) -> dict:
    """Eval metric means over the whole eval split (per trial when ``eval_step`` has a trial axis)."""
    batches = pipeline.eval_batches(dataset, batch_size=batch_size, process_index=jax.process_index(),
                                    process_count=jax.process_count())
    place = place or (lambda b: sharding.global_batch(mesh, b))
    return means(*eval_sums(eval_step, state, (place(b) for b in batches)))


@dataclasses.dataclass
class LoopEnd:
    state: object
    step: int
    status: str  # "finished" | "interrupted" | "nonfinite"
    nonfinite_step: int = -1  # the first bad step (1-based) when status is "nonfinite"


def run_loop(cfg: ml_collections.ConfigDict, state, start: int, batches, steps: dict[str, Callable], *,
             writers: list[MetricsWriter], on_eval: Callable[[int, object], None],
             on_checkpoint: Callable[[int, object], None] | None = None, on_sync: Callable[[int], None] | None = None,
             stop=None, progress=None, profiler=None,
             on_flow: Callable[[int, object, dict], None] | None = None, flow_every: int = 0) -> LoopEnd:
    """The one training loop, from step ``start`` to ``cfg.num_steps``, for a run or for vmapped trials.

    ``steps``: the compiled ``"lean"`` and ``"logging"`` steps (``lectarch.train.step.STEP_KINDS``);
    ``on_eval(step, state)`` evaluates and writes; ``on_checkpoint(step, state)`` saves; ``on_sync()``
    runs at each host sync (the checkpointer's poll), with the step. The host syncs only at boundaries. A leading trial
    axis in the metrics writes row ``k`` to ``writers[k]``; the loop stops as non-finite when every
    trial is. ``on_flow(step, state, batch)`` runs before the update of every ``flow_every``-th step (the
    gradient-flow probe, its own program: the train steps are unchanged).
    """
    step, t_log, s_log = start, time.time(), start
    while step < cfg.num_steps:
        if stop is not None and stop.requested(step):
            return LoopEnd(state, step, "interrupted")
        if profiler:
            profiler.before(step)
        step += 1
        at = boundary(cfg, step)
        batch = next(batches)
        if on_flow is not None and flow_every and step % flow_every == 0:
            on_flow(step, state, batch)  # before the step: it donates the state's buffers
        state, metrics = steps["logging" if at.any else "lean"](state, batch)
        if profiler:
            profiler.after(step, (state, metrics))
        if progress is not None:
            progress.update(1)
        if not at.any:
            continue
        m = jax.device_get(metrics)  # the only host sync: at log, eval and checkpoint steps
        if on_sync is not None:
            on_sync(step)
        bad = np.asarray(m["nonfinite_step"])
        if np.all(bad >= 0):
            return LoopEnd(state, step, "nonfinite", int(np.min(bad)) + 1)
        if at.log:
            now = time.time()
            write_rows(writers, step, "train", dict(m, steps_per_sec=(step - s_log) / max(now - t_log, 1e-9)))
            if progress is not None and np.ndim(m["loss"]) == 0:
                progress.set_postfix(loss=f"{float(m['loss']):.4g}", refresh=False)
            t_log, s_log = now, step
        if at.eval:
            on_eval(step, state)
        if at.checkpoint and on_checkpoint is not None:
            on_checkpoint(step, state)
    return LoopEnd(state, step, "finished")


def _explained(explain: Callable | None, run: Run, state, bad_index: int, workdir: pathlib.Path) -> str:
    """`` where: ...`` from ``explain`` (a failed diagnosis never changes the stop or its exit code)."""
    if explain is None or jax.process_index() != 0:
        return ""
    try:
        return "\n" + explain(run, state, bad_index, workdir)
    except Exception as e:  # noqa: BLE001 - the stop is reported whatever the diagnosis does
        return f"\n(where the non-finite value entered could not be located: {type(e).__name__}: {str(e)[:200]})"


class GradFlowLog:
    """``config.log_grad_flow_every``: per-layer ||dL/dW|| and ||dL/dW||/||W|| (and ||dL/dh_t|| over t for
    a recurrent model) at the chosen steps, to metrics.jsonl (split ``grad_flow``) and TensorBoard, from
    a program of its own; one warning line when the gradient vanishes or explodes across the network."""

    def __init__(self, run: Run, writer: MetricsWriter):
        from lectarch.models.capabilities import StatePerturbations
        from lectarch.train.step import step_key

        self.recurrent = isinstance(run.model, StatePerturbations)
        self.fn = jax.jit(make_flow_fn(run.graphdef, run.objective, self.recurrent))
        self.writer, self.step_key, self.warned = writer, step_key, set()

    def __call__(self, step: int, state, batch: dict) -> None:
        out = jax.device_get(self.fn(state.params, state.rest, batch, self.step_key(state)))
        layers = {k: float(v) for k, v in out.items() if k.startswith("grad_flow/")}
        times = {k.removeprefix("time/"): np.asarray(v) for k, v in out.items() if k.startswith("time/")}
        self.writer.write(step, "grad_flow", dict(layers, **{f"time/{k}/t1": float(v[0]) for k, v in times.items()},
                                                 **{f"time/{k}/tT": float(v[-1]) for k, v in times.items()}))
        self.writer.histograms(step, {f"grad_flow/time/{k}": v for k, v in times.items()})
        norms = [v for k, v in layers.items() if k.endswith("/grad_norm")]  # layers in path order
        checks = [("layers", flow_warning(norms, "||dL/dW||"))]
        checks += [(k, flow_warning(v, f"||dL/dh_t|| of {k}")) for k, v in times.items()]
        for what, line in checks:
            if line and what not in self.warned and jax.process_index() == 0:
                self.warned.add(what)
                print(f"warning at step {step}: {line}", file=sys.stderr)


def _better(new: dict, best: dict) -> bool:
    if not best:
        return True
    if "accuracy" in new:
        return new["accuracy"] > best["accuracy"]
    return new["loss"] < best["loss"]


def _host_model(graphdef, state, averaged: bool) -> Callable[[], nnx.Module]:
    """The model on the host, copied from the devices on first use and then reused: the eval
    hooks below share one copy of the state per eval (none when no hook runs)."""
    return functools.cache(lambda: merge(graphdef, jax.device_get(state), averaged=averaged))


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
    from lectarch.viz.model_pictures import model_pictures  # matplotlib: imported when a picture is drawn

    images = model_pictures(host_model(), dataset, 0)
    return [p for name, img in images.items() if (p := writer.image(step, name, img)) is not None]


def train(run: Run, workdir: str | pathlib.Path, *, resume_command: str = "",
          on_eval: Callable[[int, dict], None] | None = None, explain_nonfinite: Callable | None = None) -> Result:
    """Train (or resume) ``run`` (``lectarch.experiment.build_run``) in ``workdir``.

    ``on_eval(step, eval_metrics)``, if given, runs after each evaluation (a sweep reports to its
    trial there); an exception it raises (e.g. ``optuna.TrialPruned``) stops the run after the
    checkpoints are flushed and the files closed, and propagates to the caller. The workdir's run
    lock is held throughout: a second run on it stops with ``WorkdirLocked``, changing nothing.
    ``explain_nonfinite(run, state, bad_index, workdir) -> str``, if given, adds a line to the
    non-finite stop's message (``lectarch train`` passes ``lectarch.inspect.backward_nan.explain_nonfinite``).
    """
    workdir = prepare(workdir)
    # One lock per run: process 0 holds it (the other processes of a multi-host run share the workdir).
    with RunLock(workdir) if jax.process_index() == 0 else contextlib.nullcontext() as lock:
        check_resume(workdir, run.cfg)
        return _train_locked(run, workdir, resume_command=resume_command, on_eval=on_eval, lock=lock,
                             explain_nonfinite=explain_nonfinite)


def _train_locked(run: Run, workdir: pathlib.Path, *, resume_command: str,
                  on_eval: Callable[[int, dict], None] | None, lock: RunLock | None = None,
                  explain_nonfinite: Callable | None = None) -> Result:
    t0 = time.time()
    cfg, mesh, dataset, graphdef, state = run.cfg, run.mesh, run.dataset, run.graphdef, run.state
    num_params = count_params(state)
    model_type = type(merge(graphdef, state))  # what the eval hooks may use (lectarch.models.capabilities)
    # compiled once and checked against the device's memory before anything runs; these run below
    steps = {kind: run.compiled_step(kind) for kind in STEP_KINDS}
    eval_step = run.compiled_eval()

    ckpt = Checkpointer(workdir / "checkpoints", keep=cfg.get("max_to_keep", 3))
    start = 0
    restored = ckpt.restore(state)
    if restored is not None:
        state, _, start = restored
        print(f"Resuming from step {start} ({ckpt.directory})", file=sys.stderr)
    try:  # before a row is dropped or a file rewritten: never over an earlier run's saved history
        check_history(workdir, cfg, start)
    except HistoryError:
        ckpt.close()
        raise
    record = read_record(workdir, start) if start else None
    if record is not None and start >= cfg.num_steps:  # nothing left to do: the run's own summary
        ckpt.close()
        return Result(status=record["status"], step=start, best_eval=record["best_eval"],
                      last_eval=record["last_eval"], wall_time=record["wall_time"], workdir=workdir,
                      num_params=num_params)
    writer = MetricsWriter(workdir, resume_step=start)  # first: a damaged metrics.jsonl changes nothing
    if jax.process_index() == 0:
        atomic_write_text(workdir / CONFIG_FILE, cfg.to_json(indent=2) + "\n")

    local = pipeline.train_batches(dataset, batch_size=cfg.batch_size, seed=cfg.seed, start_step=start,
                                   process_index=jax.process_index(), process_count=jax.process_count(),
                                   num_workers=cfg.get("data_workers", 0))
    batches = (sharding.global_batch(mesh, b) for b in local)
    evals = {"best": (record or {}).get("best_eval", {}), "last": {}}
    t0 -= (record or {}).get("wall_time", 0.0)  # a resumed run's wall time includes the time before
    progress = make_progress(cfg.num_steps, start, enabled=cfg.get("progress", True) and jax.process_index() == 0,
                             every_s=cfg.get("progress_every_s", 30.0))
    profiler = StepProfiler(workdir / "profile", cfg.profile.start, cfg.profile.steps,
                            active=jax.process_index() == 0) if "profile" in cfg else None

    def evaluate_and_report(step: int, state) -> None:
        last = evaluate(eval_step, mesh, state, dataset, cfg.eval_batch_size)
        host_model = _host_model(graphdef, state, run.averaged)
        last.update(_decode_metrics(cfg, model_type, host_model, dataset))
        last.update({f"baseline_{k}": v for k, v in dataset.baseline.items()})
        writer.write(step, "eval", last)
        evals["last"] = last
        evals["best"] = dict(last, step=step) if _better(last, evals["best"]) else evals["best"]
        _write_pictures(cfg, model_type, host_model, dataset, writer, step)
        if on_eval is not None:
            on_eval(step, dict(last))  # may raise (e.g. a pruned sweep trial)

    at = {"step": start}  # the last boundary reached: what a save failure reports

    def synced(step: int) -> None:  # at each boundary: the workdir is still the one locked, no save has failed
        at["step"] = step
        if lock is not None:
            lock.check()
        ckpt.poll()

    status, message, step = "finished", "", start
    try:
        with preemption.StopRequest() as stop:  # the same step in every process
            flow = GradFlowLog(run, writer) if cfg.get("log_grad_flow_every", 0) else None
            end = run_loop(cfg, state, start, batches, steps, writers=[writer], on_eval=evaluate_and_report,
                           on_flow=flow, flow_every=cfg.get("log_grad_flow_every", 0),
                           on_checkpoint=lambda s, st: ckpt.save(s, st, {"next_step": s}), on_sync=synced,
                           stop=stop, progress=progress, profiler=profiler)
            state, step, status = end.state, end.step, end.status
            if status == "interrupted":
                ckpt.save(step, state, {"next_step": step})  # no-op if this step is saved already
                message = (f"{stop.signal_name} received: saved a checkpoint at step {step}. "
                           f"Resume with the same command{': ' + resume_command if resume_command else ''}")
            elif status == "nonfinite":
                verified = ckpt.verified_steps()
                kept = (f"The last checkpoint that verified (step {verified[-1]}) is kept in {ckpt.directory}"
                        if verified else "No checkpoint has been saved yet")
                message = f"non-finite loss or gradient at step {end.nonfinite_step}: stopped. {kept}"
                message += _explained(explain_nonfinite, run, state, end.nonfinite_step - 1, workdir)
            ckpt.wait()
    except CheckpointSaveError as e:
        step = at["step"]
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
    best, last_eval = evals["best"], evals["last"]
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
    # the parent folder: every run in it shows as "<workdir name>/tensorboard", side by side with this one
    lines.append(f"  tensorboard {_tensorboard_program()} --logdir {w.parent}")
    if (w / "pictures").exists():
        lines.append(f"  pictures    {w / 'pictures'}")
    return "\n".join(lines)


__all__ = ["EXIT_CONFIG", "EXIT_NONFINITE", "EXIT_OK", "EXIT_SAVE", "Boundary", "LoopEnd", "Result", "boundary",
           "evaluate", "run_loop", "summary", "train", "write_rows"]
