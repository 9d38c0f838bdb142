"""The training loop: the edge where jit, sharding, data, checkpoints, logging and signals meet.

``train(cfg, workdir)`` resumes from the workdir's latest good checkpoint, if any, and is
bit-identical to a run that was never interrupted: the data position is the step, per-step
randomness is ``fold_in(key(seed), step)``, and the compiled step is the same program.
"""

import dataclasses
import json
import pathlib
import signal
import sys
import time
from collections.abc import Callable

import jax
import ml_collections

from lectarch.config import ConfigError
from lectarch.data import build_dataset, pipeline
from lectarch.models import model_module
from lectarch.train import sharding
from lectarch.train.checkpoint import Checkpointer
from lectarch.train.metrics import MetricsWriter
from lectarch.train.objectives import get_objective
from lectarch.train.state import count_params, init_state, merge
from lectarch.train.step import make_eval_step, make_train_step

# Changing these on resume would not fit the saved state (or would silently change the run).
_RESUME_MUST_MATCH = ("model", "optimizer", "objective")

EXIT_OK, EXIT_CONFIG, EXIT_NONFINITE = 0, 2, 3


@dataclasses.dataclass
class Result:
    status: str  # "finished" | "interrupted" | "nonfinite"
    step: int
    best_eval: dict
    last_eval: dict
    wall_time: float
    workdir: pathlib.Path
    num_params: int
    message: str = ""

    @property
    def exit_code(self) -> int:
        return EXIT_NONFINITE if self.status == "nonfinite" else EXIT_OK


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


def _check_resume_config(workdir: pathlib.Path, cfg: ml_collections.ConfigDict) -> None:
    path = workdir / "config.json"
    if not path.exists():
        return
    saved = json.loads(path.read_text())
    now = json.loads(cfg.to_json())
    diffs = []
    for group in _RESUME_MUST_MATCH:
        old, new = saved.get(group), now.get(group)
        if isinstance(old, dict) and isinstance(new, dict):
            for k in sorted(set(old) | set(new)):
                if old.get(k) != new.get(k):
                    diffs.append(f"{group}.{k}: saved {old.get(k)!r}, now {new.get(k)!r}")
        elif old != new:
            diffs.append(f"{group}: saved {old!r}, now {new!r}")
    if diffs:
        raise ConfigError(f"cannot resume {workdir}: its checkpoints were written with a different "
                          f"config ({'; '.join(diffs)}); use a new --workdir or the saved values")


def _is_boundary(step: int, every: int, last: int) -> bool:
    return step % every == 0 or step == last


def _summarise(totals: dict, weight: float) -> dict:
    return {k: float(v) / max(weight, 1e-12) for k, v in totals.items()}


def evaluate(eval_step, mesh, state, dataset, batch_size: int) -> dict:
    totals, weight = {}, 0.0
    for local in pipeline.eval_batches(dataset, batch_size=batch_size, process_index=jax.process_index(),
                                       process_count=jax.process_count()):
        sums, w = eval_step(state, sharding.global_batch(mesh, local))
        for k, v in sums.items():
            totals[k] = totals.get(k, 0.0) + v
        weight += w
    return _summarise(jax.device_get(totals), float(weight))


def _better(new: dict, best: dict) -> bool:
    if not best:
        return True
    if "accuracy" in new:
        return new["accuracy"] > best["accuracy"]
    return new["loss"] < best["loss"]


def _decode_metrics(cfg, graphdef, state, dataset) -> dict:
    """Metrics that need the model's own outputs fed back (e.g. greedy decoding), from the model's
    optional ``decode_metrics(model, dataset, cfg) -> dict`` hook."""
    hook = getattr(model_module(cfg.model.name), "decode_metrics", None)
    return {} if hook is None else hook(merge(graphdef, jax.device_get(state)), dataset, cfg)


def _write_pictures(cfg, graphdef, state, dataset, writer: MetricsWriter, step: int) -> list[pathlib.Path]:
    hook = getattr(model_module(cfg.model.name), "pictures", None)
    if hook is None or not cfg.get("pictures", True) or jax.process_index() != 0:
        return []
    example = pipeline._stack([dataset.eval[0]])
    images = hook(merge(graphdef, jax.device_get(state)), example["inputs"])
    return [p for name, img in images.items() if (p := writer.image(step, name, img)) is not None]


def train(cfg: ml_collections.ConfigDict, workdir: str | pathlib.Path, *, resume_command: str = "",
          on_eval: Callable[[int, dict], None] | None = None) -> Result:
    """Train (or resume) the experiment ``cfg`` in ``workdir``.

    ``on_eval(step, eval_metrics)``, if given, runs after each evaluation (a sweep reports to its
    trial there); an exception it raises (e.g. ``optuna.TrialPruned``) stops the run after the
    checkpoints are flushed and the files closed, and propagates to the caller.
    """
    t0 = time.time()
    workdir = pathlib.Path(workdir).absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    _check_resume_config(workdir, cfg)

    mesh = sharding.make_mesh(cfg.get("num_devices", 0))
    shards = sharding.num_data_shards(mesh)
    for key in ("batch_size", "eval_batch_size"):
        if cfg[key] % shards:
            raise ConfigError(f"config.{key}={cfg[key]} is out of range: must be a multiple of the "
                              f"{shards} devices of the data mesh")
    dataset = build_dataset(cfg)
    graphdef, state, tx = init_state(cfg, dataset.spec)
    num_params = count_params(state)
    state = sharding.place_state(mesh, state)
    objective = get_objective(cfg.objective, **({"label_smoothing": cfg.label_smoothing}
                                                if cfg.get("label_smoothing", 0.0) else {}))
    train_step = sharding.jit_train_step(mesh, make_train_step(graphdef, tx, objective, cfg.get("log_grad_norms", False)))
    # steps whose metrics are never read skip the gradient norms; both update the state alike
    lean_step = sharding.jit_train_step(mesh, make_train_step(graphdef, tx, objective, lean=True))
    eval_step = sharding.jit_eval_step(mesh, make_eval_step(graphdef, objective))

    ckpt = Checkpointer(workdir / "checkpoints", max_to_keep=cfg.get("max_to_keep", 3))
    start = 0
    restored = ckpt.restore(state)
    if restored is not None:
        state, data_position, start = restored
        if data_position.get("next_step") != start:
            raise RuntimeError(f"checkpoint {start} has data position {data_position}, expected next_step={start}")
        print(f"Resuming from step {start} ({ckpt.directory})", file=sys.stderr)
    if jax.process_index() == 0:
        (workdir / "config.json").write_text(cfg.to_json(indent=2) + "\n")
    writer = MetricsWriter(workdir, resume_step=start)

    batches = pipeline.train_batches(dataset, batch_size=cfg.batch_size, seed=cfg.seed, start_step=start,
                                     process_index=jax.process_index(), process_count=jax.process_count(),
                                     num_workers=cfg.get("data_workers", 0))
    best, last_eval, status, message = {}, {}, "finished", ""
    progress = _progress(cfg, start)
    step, t_log, s_log = start, time.time(), start
    try:
        with _StopRequest() as stop:
            while step < cfg.num_steps:
                if stop.signal_name:
                    ckpt.save(step, state, {"next_step": step})
                    ckpt.wait()
                    status = "interrupted"
                    message = (f"{stop.signal_name} received: saved a checkpoint at step {step}. "
                               f"Resume with the same command{': ' + resume_command if resume_command else ''}")
                    break
                step += 1
                log = _is_boundary(step, cfg.log_every, cfg.num_steps)
                do_eval = _is_boundary(step, cfg.eval_every, cfg.num_steps)
                do_ckpt = _is_boundary(step, cfg.checkpoint_every, cfg.num_steps)
                step_fn = train_step if (log or do_eval or do_ckpt) else lean_step
                state, metrics = step_fn(state, sharding.global_batch(mesh, next(batches)))
                progress.update(1)
                if not (log or do_eval or do_ckpt):
                    continue
                m = jax.device_get(metrics)  # the only host sync: at log, eval and checkpoint steps
                if int(m["nonfinite_step"]) >= 0:
                    bad = int(m["nonfinite_step"]) + 1
                    status = "nonfinite"
                    message = (f"non-finite loss or gradient at step {bad}: stopped. The last good checkpoint "
                               f"(step {ckpt.latest_step()}) is kept in {ckpt.directory}")
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
                    last_eval.update(_decode_metrics(cfg, graphdef, state, dataset))
                    last_eval.update({f"baseline_{k}": v for k, v in dataset.extras.get("baseline", {}).items()})
                    writer.write(step, "eval", last_eval)
                    best = dict(last_eval, step=step) if _better(last_eval, best) else best
                    _write_pictures(cfg, graphdef, state, dataset, writer, step)
                    if on_eval is not None:
                        on_eval(step, dict(last_eval))  # may raise (e.g. a pruned sweep trial)
                if do_ckpt:
                    ckpt.save(step, state, {"next_step": step})
    finally:  # also when on_eval or anything else raises: flush checkpoints, close files
        progress.close()
        ckpt.close()
        writer.close()
    return Result(status=status, step=step, best_eval=best, last_eval=last_eval, wall_time=time.time() - t0,
                  workdir=workdir, num_params=num_params, message=message)


def _progress(cfg, start: int):
    from tqdm import tqdm

    return tqdm(total=cfg.num_steps, initial=start, unit="step", dynamic_ncols=True, file=sys.stderr,
                disable=not cfg.get("progress", True) or jax.process_index() != 0, mininterval=0.5)


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
    lines.append(f"  tensorboard tensorboard --logdir {w / 'tensorboard'}")
    if (w / "pictures").exists():
        lines.append(f"  pictures    {w / 'pictures'}")
    return "\n".join(lines)


__all__ = ["EXIT_CONFIG", "EXIT_NONFINITE", "EXIT_OK", "Result", "evaluate", "summary", "train"]
