"""Data parallelism: one code path for one CPU, eight devices or a multi-host slice.

The batch is sharded over the mesh's ``data`` axis and the state replicated; ``jax.jit`` with
``NamedSharding`` lets XLA insert the gradient all-reduce. ``shard_map_train_step`` is the same
step written per device, with an explicit weighted ``pmean`` of the gradients (the successor of
``pmap``), for users who want per-device code; it is tested equal to the jit step.
"""

import jax
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from lectarch.train.objectives import Objective
from lectarch.train.state import TrainState
from lectarch.train.step import Step, StepOptions, apply_gradients, make_loss_fn, step_key

DATA = "data"


def make_mesh(num_devices: int = 0) -> Mesh:
    """A 1-D ``data`` mesh over ``num_devices`` devices (0: all devices of all processes)."""
    devices = jax.devices()
    if num_devices:
        if jax.process_count() > 1:
            raise ValueError("num_devices must be 0 (all devices) in a multi-process run")
        if num_devices > len(devices):
            from lectarch.config.errors import ConfigError

            raise ConfigError(f"config.num_devices={num_devices} is out of range: only {len(devices)} "
                              f"device(s) are visible (0: use them all)")
        devices = devices[:num_devices]
    return Mesh(np.array(devices), (DATA,))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P(DATA))


def global_batch(mesh: Mesh, local_batch: dict) -> dict:
    """This process's rows -> one global array per leaf, sharded over ``data``."""
    sharding = batch_sharding(mesh)
    return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), local_batch)


def place_state(mesh: Mesh, state: TrainState) -> TrainState:
    """The state replicated over ``mesh``, in fresh buffers (the jitted step donates them)."""
    return jax.device_put(jax.device_get(state), replicated(mesh))


def jit_train_step(mesh: Mesh, train_step: Step) -> Step:
    return jax.jit(train_step, in_shardings=(replicated(mesh), batch_sharding(mesh)),
                   out_shardings=(replicated(mesh), replicated(mesh)), donate_argnums=0)


def jit_eval_step(mesh: Mesh, eval_step):
    return jax.jit(eval_step, in_shardings=(replicated(mesh), batch_sharding(mesh)),
                   out_shardings=replicated(mesh))


def shard_map_train_step(mesh: Mesh, graphdef: nnx.GraphDef, tx: optax.GradientTransformation,
                         objective: Objective, options: StepOptions) -> Step:
    """The train step as per-device code: local gradients, then a weighted mean over ``data``."""
    loss_fn = make_loss_fn(graphdef, objective)

    def per_device(state: TrainState, batch: dict):
        key = jax.random.fold_in(step_key(state), jax.lax.axis_index(DATA))
        (_, (metrics, weight)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, state.rest, batch, key)
        share = weight / jax.lax.psum(weight, DATA)  # this device's part of the global mean
        grads = jax.lax.psum(jax.tree.map(lambda g: g * share, grads), DATA)
        metrics = {k: jax.lax.psum(v * share, DATA) for k, v in metrics.items()}
        return apply_gradients(tx, state, grads, metrics, options)

    # check_vma=False: gradients of the replicated parameters stay per-device, so the all-reduce
    # is the explicit psum above (with check_vma=True, JAX would already sum them in the transpose).
    step = jax.shard_map(per_device, mesh=mesh, in_specs=(P(), P(DATA)), out_specs=(P(), P()), check_vma=False)
    return jax.jit(step, donate_argnums=0)


def num_data_shards(mesh: Mesh) -> int:
    return int(mesh.shape[DATA])


__all__ = ["DATA", "batch_sharding", "global_batch", "jit_eval_step", "jit_train_step", "make_mesh",
           "num_data_shards", "place_state", "replicated", "shard_map_train_step"]
