"""The three pure programs of a run, as functions of it (``lectarch.train.run.Run``):

- ``forward(run)(params, rest, inputs) -> outputs``: the model in evaluation mode;
- ``grad(run)(params, rest, batch, key) -> dL/dparams``: the loss gradient in training mode;
- ``run.train_step(kind)(state, batch) -> (state, metrics)``: the trainer's own step
  (``lectarch.train.step``), the lean one by default since it is the step that runs most.

``function_and_args(run, what)`` gives one of them with the arguments it is traced with: the run's
state and ``run.batch``, abstract (``jax.ShapeDtypeStruct``) for a run built with ``abstract=True``
(no parameter memory and no data: a jaxpr or compiled program of a large model), else real
parameters and the first real training batch.
"""

from collections.abc import Callable

import jax
from flax import nnx

from lectarch.train.run import Run
from lectarch.train.step import STEP_KINDS, make_loss_fn, step_key

WHATS = ("forward", "grad", "train_step")


def loss_fn(run: Run) -> Callable:
    """``loss_fn(params, rest, batch, key, train) -> (loss, (metrics, weight))``."""
    return make_loss_fn(run.graphdef, run.objective)


def forward(run: Run) -> Callable:
    def forward(params, rest, inputs):
        return nnx.merge(run.graphdef, params, rest)(inputs, train=False)

    return forward


def grad(run: Run) -> Callable:
    loss = loss_fn(run)

    def grad(params, rest, batch, key):
        return jax.grad(lambda p: loss(p, rest, batch, key, True)[0])(params)

    return grad


def function_and_args(run: Run, what: str, step_kind: str = "lean") -> tuple[Callable, tuple]:
    """The pure function named ``what`` (one of ``WHATS``) and the arguments it is traced with;
    ``step_kind`` picks the train step (``lectarch.train.step.STEP_KINDS``)."""
    s, b = run.state, run.batch
    if what == "forward":
        return forward(run), (s.params, s.rest, b["inputs"])
    if what == "grad":
        key = jax.eval_shape(step_key, s) if run.abstract else step_key(s)
        return grad(run), (s.params, s.rest, b, key)
    if what == "train_step":
        if step_kind not in STEP_KINDS:
            raise ValueError(f"step kind must be one of {STEP_KINDS}, got {step_kind!r}")
        return run.train_step(step_kind), (s, b)
    raise ValueError(f"unknown program {what!r}; choose from {WHATS}")


__all__ = ["WHATS", "forward", "function_and_args", "grad", "loss_fn"]
