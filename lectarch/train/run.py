"""One object for a run: config, dataset, objective, model graph, optimiser, mesh, state and its steps.

``lectarch.experiment.build_run(cfg)`` makes it from a config (resolving the config's modules) and
``open_run(workdir)`` from a workdir's checkpoint; the trainer, every command that reads a run, the
inspection programs and the sweeps use it. Its compiled steps are made once, checked against the
device's memory, and are the very programs the training loop runs.
"""

import dataclasses
import functools
import pathlib

import jax
import ml_collections
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh

from lectarch.config import ConfigError
from lectarch.data.spec import Dataset
from lectarch.train import memory, sharding
from lectarch.train.objectives import Objective
from lectarch.train.state import TrainState, init_state, merge
from lectarch.train.step import Step, make_eval_step, make_train_step, step_options


@dataclasses.dataclass
class Run:
    cfg: ml_collections.ConfigDict
    dataset: Dataset
    objective: Objective
    graphdef: nnx.GraphDef
    tx: optax.GradientTransformation
    mesh: Mesh
    state: TrainState  # replicated over ``mesh``, or ShapeDtypeStructs for an abstract run
    step: int = 0  # the restored checkpoint's step (0: a fresh state)
    batch_size: int = 0  # the global training batch of ``batch`` and of the compiled steps (0: cfg.batch_size)
    _compiled: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        self.batch_size = self.batch_size or self.cfg.batch_size

    @property
    def abstract(self) -> bool:
        return isinstance(self.state.step, jax.ShapeDtypeStruct)

    @property
    def model(self) -> nnx.Module:
        """The stateful model at ``state`` (on the host: for pictures, decoding, inspection)."""
        if self.abstract:
            return nnx.merge(self.graphdef, self.state.params, self.state.rest)
        return merge(self.graphdef, jax.device_get(self.state), averaged=self.averaged)

    def train_step(self, kind: str = "lean") -> Step:
        """The pure train step of ``kind`` (``lectarch.train.step.STEP_KINDS``), as the trainer runs it."""
        return make_train_step(self.graphdef, self.tx, self.objective, step_options(self.cfg, kind))

    @property
    def averaged(self) -> bool:
        """Whether evaluation, pictures and decoding use the parameters' moving average (``config.ema``)."""
        return "ema" in self.cfg and bool(self.cfg.ema.evaluate) and self.cfg.ema.decay > 0

    def eval_step(self):
        return make_eval_step(self.graphdef, self.objective, averaged=self.averaged)

    def batch_spec(self, batch_size: int | None = None, sharded: bool = True) -> dict:
        """Shapes and dtypes (and, when ``sharded``, the data sharding) of one global training batch."""
        element = self.dataset.train[0]  # its shapes: the first element, augmented as the stream would
        if self.dataset.augment is not None:
            element = self.dataset.augment(element, np.random.default_rng(self.cfg.seed))
        size = batch_size or self.batch_size
        data = sharding.batch_sharding(self.mesh) if sharded else None
        return jax.tree.map(lambda x: jax.ShapeDtypeStruct((size, *np.shape(x)), np.asarray(x).dtype, sharding=data),
                            element)

    def first_batch(self, batch_size: int | None = None) -> dict:
        """The first real global training batch (on the host)."""
        from lectarch.data import pipeline

        return pipeline.train_batch_at(self.dataset, batch_size=batch_size or self.batch_size, seed=self.cfg.seed,
                                       step=0)

    @functools.cached_property
    def batch(self) -> dict:
        """The batch the inspection programs are traced with: abstract for an abstract run, else the first one."""
        return self.batch_spec(sharded=False) if self.abstract else self.first_batch()

    def state_spec(self) -> TrainState:
        replicated = sharding.replicated(self.mesh)
        return jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype, sharding=replicated), self.state)

    def compiled_step(self, kind: str = "lean"):
        """The ``kind`` train step jitted over the mesh and compiled once; a batch larger than the
        training split, or a step that cannot fit the device's memory, is a ``ConfigError`` before
        anything runs."""
        if self.batch_size > len(self.dataset.train):
            raise ConfigError(f"config.batch_size={self.batch_size} is out of range: the training split has only "
                              f"{len(self.dataset.train)} examples")
        if kind not in self._compiled:
            jitted = sharding.jit_train_step(self.mesh, self.train_step(kind))
            compiled = jitted.lower(self.state_spec(), self.batch_spec()).compile()
            memory.check_step_memory(compiled, self.mesh, memory.size_keys(self.cfg))
            self._compiled[kind] = compiled
        return self._compiled[kind]

    def compiled_eval(self):
        """The eval step over one eval batch, compiled once and checked against memory like the train step."""
        if "eval" not in self._compiled:
            jitted = sharding.jit_eval_step(self.mesh, self.eval_step())
            size, data = self.cfg.eval_batch_size, sharding.batch_sharding(self.mesh)
            spec = jax.tree.map(lambda x: jax.ShapeDtypeStruct((size, *np.shape(x)), np.asarray(x).dtype, sharding=data),
                                dict(self.dataset.eval[0], weight=np.float32(1)))
            compiled = jitted.lower(self.state_spec(), spec).compile()
            keys = dict(memory.size_keys(self.cfg), eval_batch_size=self.cfg.eval_batch_size)
            keys.pop("batch_size", None)
            memory.check_step_memory(compiled, self.mesh, keys, what="the eval step")
            self._compiled["eval"] = compiled
        return self._compiled["eval"]


def check_batch_sizes(cfg: ml_collections.ConfigDict, mesh: Mesh) -> None:
    """Batch sizes the mesh can split: a ``ConfigError`` otherwise."""
    shards = sharding.num_data_shards(mesh)
    for key in ("batch_size", "eval_batch_size"):
        if cfg[key] % shards:
            raise ConfigError(f"config.{key}={cfg[key]} is out of range: must be a multiple of the "
                              f"{shards} devices of the data mesh")
    k = cfg.get("accumulate_steps", 1)
    if cfg.batch_size % (k * shards):
        raise ConfigError(f"config.batch_size={cfg.batch_size} is out of range: with config.accumulate_steps={k} "
                          f"it must be a multiple of {k} x {shards} devices = {k * shards}")


def make_run(cfg: ml_collections.ConfigDict, dataset: Dataset, objective: Objective, *,
             num_devices: int | None = None, abstract: bool = False, batch_size: int | None = None) -> Run:
    """The run of ``cfg``: fresh state (seeded by ``cfg.seed``) on the data mesh.

    ``num_devices`` overrides ``cfg.num_devices`` (a command that only reads a run uses one device);
    ``abstract=True`` gives a state of ``ShapeDtypeStruct``s (no parameter memory: for inspecting
    large models); ``batch_size`` overrides ``cfg.batch_size`` for the inspected/compiled batch.
    """
    mesh = sharding.make_mesh(cfg.get("num_devices", 0) if num_devices is None else num_devices)
    check_batch_sizes(cfg, mesh)  # nothing large is built here: the batches and compiled steps come on demand
    built: dict = {}

    def fresh() -> TrainState:
        built["graphdef"], state, built["tx"] = init_state(cfg, dataset.spec)
        return state

    state = jax.eval_shape(fresh) if abstract else sharding.place_state(mesh, fresh())
    return Run(cfg=cfg, dataset=dataset, objective=objective, graphdef=built["graphdef"], tx=built["tx"],
               mesh=mesh, state=state, batch_size=batch_size or cfg.batch_size)


def restore_state(workdir: str | pathlib.Path, state: TrainState, step: int | None = None) -> tuple[TrainState, int]:
    """``state`` (a template of the right structure) filled from ``workdir``'s checkpoint ``step``
    (default: the latest good one), and that step."""
    directory = pathlib.Path(workdir) / "checkpoints"
    if not directory.is_dir():
        raise ConfigError(f"{workdir} holds no checkpoint (no checkpoints folder): train it with `lectarch train` first")
    from lectarch.train.checkpoint import Checkpointer  # orbax: only where a checkpoint is read

    ckpt = Checkpointer(directory, async_save=False, read_only=True)
    try:
        if step is not None and step not in ckpt.steps():
            raise ConfigError(f"{directory} holds no readable checkpoint at step {step} "
                              f"(steps saved: {', '.join(map(str, ckpt.steps())) or 'none'})")
        restored = ckpt.restore(state, step=step)
    finally:
        ckpt.close()
    if restored is None:
        raise ConfigError(f"{directory} holds no readable checkpoint" + (f" at step {step}" if step is not None else ""))
    state, _, step = restored
    return state, int(step)


def restored(run: Run, workdir: str | pathlib.Path, step: int | None = None) -> Run:
    """``run`` at the parameters of ``workdir``'s checkpoint ``step`` (default: the latest good one)."""
    if run.abstract:
        raise ValueError("an abstract run holds no arrays to restore into: build it with abstract=False")
    state, step = restore_state(workdir, run.state, step)
    out = dataclasses.replace(run, state=state, step=step, _compiled={})
    out.__dict__.pop("batch", None)
    return out


__all__ = ["Run", "check_batch_sizes", "make_run", "restore_state", "restored"]
