"""The training state: everything a step reads and writes, and everything a checkpoint holds.

A model is split once into a static graph definition and arrays (``nnx.split``); the arrays live
here, so the train step is a pure function ``(TrainState, batch) -> (TrainState, metrics)``.
"""

import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import nnx

from lectarch.config.defaults import PRNG_IMPL_DEFAULT
from lectarch.data.spec import DataSpec
from lectarch.models import build_model
from lectarch.train.optim import optimizer


# config.prng_impl -> JAX's name of the implementation (jax.random.key(seed, impl=...))
JAX_PRNG_IMPLS = {"threefry": "threefry2x32", "rbg": "rbg", "unsafe_rbg": "unsafe_rbg"}


@flax.struct.dataclass
class TrainState:
    step: jax.Array  # completed updates (int32); also the data position
    params: nnx.State  # trainable arrays (nnx.Param)
    rest: nnx.State  # other model state, carried unchanged by the step
    opt_state: optax.OptState
    key: jax.Array  # the key's raw uint32 data (a plain array in checkpoints); step s uses fold_in(key, s)
    nonfinite_step: jax.Array  # -1, or the first step whose loss or gradient was not finite
    ema_params: nnx.State | None = None  # moving average of ``params`` (config.ema.decay > 0), else None
    # JAX's PRNG implementation that ``key`` is data of (config.prng_impl): static, so not in checkpoints
    prng_impl: str = flax.struct.field(pytree_node=False, default=JAX_PRNG_IMPLS[PRNG_IMPL_DEFAULT])


def init_state(cfg: ml_collections.ConfigDict, spec: DataSpec,
               tx: optax.GradientTransformation | None = None) -> tuple[nnx.GraphDef, TrainState, optax.GradientTransformation]:
    """The model's graph definition, a fresh state, and the optimiser (seeded by ``cfg.seed``)."""
    model = build_model(cfg, spec, nnx.Rngs(params=cfg.seed))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    tx = tx if tx is not None else optimizer(cfg)
    ema = cfg.ema.decay if "ema" in cfg else 0.0
    impl = JAX_PRNG_IMPLS[cfg.get("prng_impl", PRNG_IMPL_DEFAULT)]
    state = TrainState(step=jnp.zeros((), jnp.int32), params=params, rest=rest,
                       opt_state=tx.init(params), key=jax.random.key_data(jax.random.key(cfg.seed, impl=impl)),
                       nonfinite_step=jnp.full((), -1, jnp.int32),
                       ema_params=jax.tree.map(jnp.copy, params) if ema > 0 else None, prng_impl=impl)
    return graphdef, state, tx


def merge(graphdef: nnx.GraphDef, state: TrainState, averaged: bool = False) -> nnx.Module:
    """The stateful model back from its pure form (for pictures, decoding, inspection); with
    ``averaged``, at the parameters' moving average (``config.ema``) where the state keeps one."""
    return nnx.merge(graphdef, evaluated_params(state, averaged), state.rest)


def evaluated_params(state: TrainState, averaged: bool) -> nnx.State:
    """The moving average of the parameters when ``averaged`` and kept, else the parameters."""
    return state.ema_params if averaged and state.ema_params is not None else state.params


def count_params(state: TrainState) -> int:
    return sum(x.size for x in jax.tree.leaves(state.params))
