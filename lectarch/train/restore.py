"""One way to rebuild a run: the trainer's resume and every command that reads a workdir use it.

``build(cfg)`` makes what a run is made of (dataset, model graph, fresh state and optimiser, device
mesh), exactly as the trainer does; ``open_run(workdir, step)`` rebuilds a trained run from its
``config.json`` (plug-in modules included, through its ``import_path``) and restores the given or
latest good checkpoint into it.
"""

import dataclasses
import pathlib
from collections.abc import Sequence

import jax
import ml_collections
import optax
from flax import nnx
from jax.sharding import Mesh

from lectarch.config import ConfigError
from lectarch.data import build_dataset
from lectarch.data.spec import Dataset
from lectarch.experiment import saved_config
from lectarch.train import sharding
from lectarch.train.checkpoint import Checkpointer
from lectarch.train.state import TrainState, init_state, merge


@dataclasses.dataclass
class Run:
    cfg: ml_collections.ConfigDict
    dataset: Dataset
    graphdef: nnx.GraphDef
    state: TrainState  # replicated over ``mesh``
    tx: optax.GradientTransformation
    mesh: Mesh
    step: int = 0  # the restored checkpoint's step (0: a fresh state)

    @property
    def model(self) -> nnx.Module:
        """The stateful model at ``state`` (on the host: for pictures, decoding, inspection)."""
        return merge(self.graphdef, jax.device_get(self.state))


def build(cfg: ml_collections.ConfigDict, *, num_devices: int | None = None) -> Run:
    """Dataset, model graph, fresh state (seeded by ``cfg.seed``) and optimiser on the data mesh.

    ``num_devices`` overrides ``cfg.num_devices`` (a command that only reads a run uses one device).
    """
    mesh = sharding.make_mesh(cfg.get("num_devices", 0) if num_devices is None else num_devices)
    shards = sharding.num_data_shards(mesh)
    for key in ("batch_size", "eval_batch_size"):
        if cfg[key] % shards:
            raise ConfigError(f"config.{key}={cfg[key]} is out of range: must be a multiple of the "
                              f"{shards} devices of the data mesh")
    dataset = build_dataset(cfg)
    graphdef, state, tx = init_state(cfg, dataset.spec)
    return Run(cfg=cfg, dataset=dataset, graphdef=graphdef, state=sharding.place_state(mesh, state), tx=tx,
               mesh=mesh)


def restore_state(workdir: str | pathlib.Path, state: TrainState, step: int | None = None) -> tuple[TrainState, int]:
    """``state`` (a template of the right structure) filled from ``workdir``'s checkpoint ``step``
    (default: the latest good one), and that step."""
    directory = pathlib.Path(workdir) / "checkpoints"
    if not directory.is_dir():
        raise ConfigError(f"{workdir} holds no checkpoint (no checkpoints folder): train it with `lectarch train` first")
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


def open_run(workdir: str | pathlib.Path, step: int | None = None, overrides: Sequence[str] = ()) -> Run:
    """The run in ``workdir`` (its config, with ``overrides``) at checkpoint ``step`` (default: latest)."""
    cfg = saved_config(workdir, overrides)
    run = build(cfg, num_devices=1)
    state, step = restore_state(workdir, run.state, step)
    return dataclasses.replace(run, state=state, step=step)


__all__ = ["Run", "build", "open_run", "restore_state"]
