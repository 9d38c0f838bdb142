"""Multi-host training: one process per host (or per GPU), all of them one JAX program.

``initialize`` connects the processes with ``jax.distributed.initialize`` before any device is
touched. Where the parameters come from, first match wins:

1. flags: ``--coordinator HOST:PORT --num-processes N --process-id I``;
2. the environment: ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``, ``JAX_PROCESS_ID``;
3. the cluster: SLURM, Cloud TPU VMs (and Open MPI, Kubernetes) are detected by JAX itself.

Which GPUs a process drives (``local_device_ids``): ``JAX_LOCAL_DEVICE_IDS`` when set; under SLURM
``slurm_local_device_ids`` computes them, so both layouts use every GPU of every node: one task per
node drives all the GPUs it sees, one task per GPU drives its own (JAX's own SLURM detection
would give every task only the GPU numbered ``SLURM_LOCALID``, leaving 7 of 8 idle with one task
per node).

After it, ``jax.devices()`` lists the devices of every process, ``jax.process_index()`` says which
process this is, the data pipeline reads only this process's rows of each global batch, and
checkpoints are written and read collectively. On CPU the collectives run over gloo.
"""

import dataclasses
import os
import re

ENV = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")


@dataclasses.dataclass(frozen=True)
class Launch:
    """How this process joins the run; ``None`` fields are left to JAX's cluster detection."""

    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None

    @property
    def explicit(self) -> bool:
        return self.coordinator is not None


def _int_or_none(text: str | None, name: str = "", lo: int = 0) -> int | None:
    """The integer in environment variable ``name`` (``None`` when unset); a ``ValueError`` naming
    the variable when it is not an integer >= ``lo``."""
    if text in (None, ""):
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"environment variable {name}={text!r} is not an integer") from None
    if value < lo:
        raise ValueError(f"environment variable {name}={value} is out of range: must be >= {lo}")
    return value


def from_flags_or_env(coordinator: str | None = None, num_processes: int | None = None,
                      process_id: int | None = None, env: dict | None = None) -> Launch:
    """Flags first, then ``JAX_COORDINATOR_ADDRESS`` / ``JAX_NUM_PROCESSES`` / ``JAX_PROCESS_ID``."""
    env = os.environ if env is None else env
    launch = Launch(coordinator or env.get(ENV[0]) or None,
                    num_processes if num_processes is not None else _int_or_none(env.get(ENV[1]), ENV[1], 1),
                    process_id if process_id is not None else _int_or_none(env.get(ENV[2]), ENV[2], 0))
    given = [launch.coordinator, launch.num_processes, launch.process_id]
    if any(v is not None for v in given) and any(v is None for v in given):
        raise ValueError("multi-process launch needs all three of --coordinator, --num-processes and "
                         f"--process-id (or the environment variables {', '.join(ENV)}); got {launch}")
    if launch.explicit and not 0 <= launch.process_id < launch.num_processes:
        raise ValueError(f"--process-id {launch.process_id} is not in [0, {launch.num_processes})")
    return launch


def cluster_detected(env: dict | None = None) -> str | None:
    """``"slurm"`` or ``"cloud_tpu"`` when the environment names one (informational: JAX's own
    detection, which also asks a TPU VM's metadata server, decides), else ``None``."""
    env = os.environ if env is None else env
    if all(k in env for k in ("SLURM_JOB_ID", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_STEP_NODELIST")):
        return "slurm"
    if "TPU_WORKER_HOSTNAMES" in env or "TPU_WORKER_ID" in env or "CLOUD_TPU_TASK_ID" in env:
        return "cloud_tpu"
    return None


def parse_id_list(text: str | None) -> list[int] | None:
    """``"0,1,2,3"`` or ``"0-3"`` (SLURM's forms, also mixed: ``"0-1,4"``) -> [0, 1, 2, 3]; ``None``
    for an unset or empty value or one that names devices otherwise (``GPU-<uuid>``)."""
    if not text or not text.strip():
        return None
    ids = []
    for part in text.strip().split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if m is None:
            return None
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        ids.extend(range(lo, hi + 1))
    return ids


def tasks_per_node(env: dict) -> int | None:
    """``SLURM_NTASKS_PER_NODE``, else the first count of ``SLURM_STEP_TASKS_PER_NODE`` /
    ``SLURM_TASKS_PER_NODE`` (``"8(x2)"`` -> 8)."""
    for key in ("SLURM_NTASKS_PER_NODE", "SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"):
        m = re.match(r"\s*(\d+)", env.get(key, ""))
        if m:
            return int(m.group(1))
    return None


def slurm_local_device_ids(env: dict | None = None) -> list[int] | None:
    """Under SLURM, the GPU ordinals (as this process numbers them) the task should drive.

    The GPUs the task sees are ``CUDA_VISIBLE_DEVICES`` (set by SLURM for the task), else the
    node's allocation ``SLURM_STEP_GPUS`` / ``SLURM_JOB_GPUS``. A task that sees only its own
    share (``srun --gpus-per-task``), or the only task of its node, drives all it sees; tasks that
    all see the node's G GPUs split them: task ``SLURM_LOCALID`` of N drives its G/N. ``None``
    where there is nothing to decide (not SLURM, no GPUs named). Raises ``ValueError`` when G GPUs
    cannot be split evenly between N tasks.
    """
    env = os.environ if env is None else env
    if cluster_detected(env) != "slurm":
        return None
    node = parse_id_list(env.get("SLURM_STEP_GPUS")) or parse_id_list(env.get("SLURM_JOB_GPUS"))
    if "CUDA_VISIBLE_DEVICES" in env:  # CUDA numbers the GPUs it is shown 0, 1, ...
        visible = parse_id_list(env["CUDA_VISIBLE_DEVICES"])
        ordinals = None if visible is None else list(range(len(visible)))
    else:  # every GPU of the node is shown: its ordinals are the node's numbers
        ordinals = node
    if not ordinals:
        return None
    tasks = tasks_per_node(env) or 1
    if tasks == 1 or (node is not None and len(ordinals) < len(node)) or len(ordinals) < tasks:
        return ordinals
    if len(ordinals) % tasks:
        raise ValueError(f"SLURM: {len(ordinals)} GPUs per node cannot be split evenly between {tasks} tasks "
                         "per node; ask for one task per node or one task per GPU")
    share, local = len(ordinals) // tasks, int(env.get("SLURM_LOCALID", "0"))
    return ordinals[local * share:(local + 1) * share]


def initialize_kwargs(launch: Launch, env: dict | None = None) -> dict:
    """The keyword arguments ``initialize`` passes to ``jax.distributed.initialize``."""
    env = os.environ if env is None else env
    kwargs = {}
    if launch.explicit:
        kwargs = dict(coordinator_address=launch.coordinator, num_processes=launch.num_processes,
                      process_id=launch.process_id)
    ids = parse_id_list(env.get("JAX_LOCAL_DEVICE_IDS")) or slurm_local_device_ids(env)
    if ids is not None:
        kwargs["local_device_ids"] = ids
    return kwargs


def initialize(launch: Launch | None = None, *, cpu_collectives: str = "gloo") -> bool:
    """Join the multi-process run described by ``launch`` (or found in the environment).

    Without explicit parameters, JAX's own cluster detection runs (SLURM, Cloud TPU VMs, Open MPI,
    Kubernetes). Returns True when a multi-process runtime was started, False when there is nothing
    to join (a plain single-process run). Must run before any JAX computation.
    """
    import jax

    launch = launch or from_flags_or_env()
    jax.config.update("jax_cpu_collectives_implementation", cpu_collectives)
    kwargs = initialize_kwargs(launch)
    if launch.explicit:
        jax.distributed.initialize(**kwargs)
        return True
    try:
        jax.distributed.initialize(**kwargs)  # the cluster's own variables / metadata
    except ValueError as e:  # no cluster found: "coordinator_address should be defined"
        if "should be defined" not in str(e):
            raise
        return False
    return True


def describe() -> str:
    """One line: which process this is, and the devices it sees locally and globally."""
    import jax

    return (f"process {jax.process_index()} of {jax.process_count()}: {jax.local_device_count()} local "
            f"{jax.default_backend()} devices, {jax.device_count()} in all")


__all__ = ["ENV", "Launch", "cluster_detected", "describe", "from_flags_or_env", "initialize", "initialize_kwargs",
           "parse_id_list", "slurm_local_device_ids", "tasks_per_node"]
