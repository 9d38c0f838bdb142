"""The three pure programs of an experiment, built exactly as the trainer builds them.

- ``forward(params, rest, inputs) -> outputs``: the model in evaluation mode;
- ``grad(params, rest, batch, key) -> dL/dparams``: the loss gradient in training mode;
- ``train_step(state, batch) -> (state, metrics)``: the whole step of ``lectarch.train.step``
  (gradient, clipping, optimiser update, finiteness guard).

Their arguments are abstract (``jax.ShapeDtypeStruct``) by default, so a jaxpr or a compiled
program of a large model costs no parameter memory and no data; ``concrete=True`` gives real
parameters (seeded by ``cfg.seed``) and the first real training batch.
"""

import dataclasses
from collections.abc import Callable

import jax
import ml_collections
import numpy as np
import optax
from flax import nnx

from lectarch.data import build_dataset, pipeline
from lectarch.data.spec import Dataset
from lectarch.experiment import build_objective
from lectarch.train.objectives import Objective
from lectarch.train.restore import restore_state
from lectarch.train.state import TrainState, init_state
from lectarch.train.step import make_loss_fn, make_train_step, step_key

WHATS = ("forward", "grad", "train_step")


@dataclasses.dataclass
class Programs:
    cfg: ml_collections.ConfigDict
    graphdef: nnx.GraphDef
    tx: optax.GradientTransformation
    objective: Objective
    state: TrainState  # abstract (ShapeDtypeStructs) or concrete
    batch: dict  # one global training batch, abstract or concrete
    dataset: Dataset

    @property
    def loss_fn(self):
        """``loss_fn(params, rest, batch, key, train) -> (loss, (metrics, weight))``."""
        return make_loss_fn(self.graphdef, self.objective)

    def forward(self, params, rest, inputs):
        return nnx.merge(self.graphdef, params, rest)(inputs, train=False)

    def grad(self, params, rest, batch, key):
        return jax.grad(lambda p: self.loss_fn(p, rest, batch, key, True)[0])(params)

    @property
    def train_step(self) -> Callable:
        return make_train_step(self.graphdef, self.tx, self.objective, self.cfg.get("log_grad_norms", False))

    def function_and_args(self, what: str) -> tuple[Callable, tuple]:
        """The pure function named ``what`` (one of ``WHATS``) and the arguments it is traced with."""
        s, b = self.state, self.batch
        if what == "forward":
            return self.forward, (s.params, s.rest, b["inputs"])
        if what == "grad":
            key = jax.eval_shape(step_key, s) if _is_abstract(s.step) else step_key(s)
            return self.grad, (s.params, s.rest, b, key)
        if what == "train_step":
            return self.train_step, (s, b)
        raise ValueError(f"unknown program {what!r}; choose from {WHATS}")


def _is_abstract(x) -> bool:
    return isinstance(x, jax.ShapeDtypeStruct)


def abstract_batch(dataset: Dataset, batch_size: int, seed: int = 0) -> dict:
    """Shapes and dtypes of one global training batch (one augmented element, stacked ``batch_size`` times)."""
    element = pipeline.train_stream(dataset, seed)[0]
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct((batch_size,) + np.shape(x), np.asarray(x).dtype), element)


def build_programs(cfg: ml_collections.ConfigDict, *, concrete: bool = False, batch_size: int | None = None,
                   dataset: Dataset | None = None) -> Programs:
    """The experiment's programs; ``batch_size`` overrides ``cfg.batch_size`` (e.g. a smaller batch)."""
    dataset = dataset if dataset is not None else build_dataset(cfg)
    batch_size = batch_size or cfg.batch_size
    built: dict = {}

    def make_state() -> TrainState:
        built["graphdef"], state, built["tx"] = init_state(cfg, dataset.spec)
        return state

    if concrete:
        state = make_state()
        batch = pipeline.train_batch_at(dataset, batch_size=batch_size, seed=cfg.seed, step=0)
    else:
        state = jax.eval_shape(make_state)
        batch = abstract_batch(dataset, batch_size, cfg.seed)
    return Programs(cfg=cfg, graphdef=built["graphdef"], tx=built["tx"], objective=build_objective(cfg),
                    state=state, batch=batch, dataset=dataset)


def restore_programs(programs: Programs, workdir: str, step: int | None = None) -> tuple[Programs, int]:
    """The same programs at the parameters of ``workdir``'s checkpoint ``step`` (default: the latest
    good one), and its step."""
    if _is_abstract(programs.state.step):
        raise ValueError("restore_programs needs concrete programs (build_programs(..., concrete=True))")
    state, step = restore_state(workdir, programs.state, step)
    return dataclasses.replace(programs, state=state), step
