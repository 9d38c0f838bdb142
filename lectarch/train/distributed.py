"""Multi-host training: one process per host (or per GPU), all of them one JAX program.

``initialize`` connects the processes with ``jax.distributed.initialize`` before any device is
touched. Where the parameters come from, first match wins:

1. flags: ``--coordinator HOST:PORT --num-processes N --process-id I``;
2. the environment: ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``, ``JAX_PROCESS_ID``;
3. the cluster: SLURM (``srun``: one task per node), Cloud TPU VMs (and Open MPI, Kubernetes) are
   detected by JAX itself.

After it, ``jax.devices()`` lists the devices of every process, ``jax.process_index()`` says which
process this is, the data pipeline reads only this process's rows of each global batch, and
checkpoints are written and read collectively. On CPU the collectives run over gloo.
"""

import dataclasses
import os
import sys

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


def _int_or_none(text: str | None) -> int | None:
    return None if text in (None, "") else int(text)


def from_flags_or_env(coordinator: str | None = None, num_processes: int | None = None,
                      process_id: int | None = None, env: dict | None = None) -> Launch:
    """Flags first, then ``JAX_COORDINATOR_ADDRESS`` / ``JAX_NUM_PROCESSES`` / ``JAX_PROCESS_ID``."""
    env = os.environ if env is None else env
    launch = Launch(coordinator or env.get(ENV[0]) or None,
                    num_processes if num_processes is not None else _int_or_none(env.get(ENV[1])),
                    process_id if process_id is not None else _int_or_none(env.get(ENV[2])))
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


def initialize(launch: Launch | None = None, *, cpu_collectives: str = "gloo") -> bool:
    """Join the multi-process run described by ``launch`` (or found in the environment).

    Without explicit parameters, JAX's own cluster detection runs (SLURM, Cloud TPU VMs, Open MPI,
    Kubernetes). Returns True when a multi-process runtime was started, False when there is nothing
    to join (a plain single-process run). Must run before any JAX computation.
    """
    import jax

    launch = launch or from_flags_or_env()
    jax.config.update("jax_cpu_collectives_implementation", cpu_collectives)
    if launch.explicit:
        jax.distributed.initialize(coordinator_address=launch.coordinator, num_processes=launch.num_processes,
                                   process_id=launch.process_id)
        return True
    try:
        jax.distributed.initialize()  # the cluster's own variables / metadata
    except ValueError as e:  # no cluster found: "coordinator_address should be defined"
        if "should be defined" not in str(e):
            raise
        return False
    return True


def _int_at_least(lo: int):
    from lectarch.cli.args import int_range

    return int_range(lo)


def add_flags(parser) -> None:
    """``--distributed``, ``--coordinator``, ``--num-processes``, ``--process-id`` on a CLI command."""
    g = parser.add_argument_group("multi-host (see launch/ and lectarch/train/distributed.py)")
    g.add_argument("--distributed", action="store_true",
                   help="join a multi-process run: from the flags below, from JAX_COORDINATOR_ADDRESS/"
                        "JAX_NUM_PROCESSES/JAX_PROCESS_ID, or found on SLURM and Cloud TPU VMs")
    g.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                   help="address of process 0 (implies --distributed)")
    g.add_argument("--num-processes", type=_int_at_least(1), default=None, metavar="N", help="number of processes")
    g.add_argument("--process-id", type=_int_at_least(0), default=None, metavar="I", help="this process, in [0, N)")


def initialize_from_flags(args) -> bool:
    """``initialize`` when the command line asks for it (``--distributed`` or ``--coordinator``)."""
    if not (getattr(args, "distributed", False) or getattr(args, "coordinator", None)):
        return False
    from lectarch.config import ConfigError

    try:
        launch = from_flags_or_env(args.coordinator, args.num_processes, args.process_id)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    started = initialize(launch)
    if not started:
        print("lectarch: --distributed but no coordinator, JAX_* variables or cluster found: "
              "running as one process", file=sys.stderr)
    via = "flags/environment" if launch.explicit else (cluster_detected() or "cluster detection")
    print(f"{describe()} (joined via {via})" if started else describe(), file=sys.stderr)
    return started


def describe() -> str:
    """One line: which process this is, and the devices it sees locally and globally."""
    import jax

    return (f"process {jax.process_index()} of {jax.process_count()}: {jax.local_device_count()} local "
            f"{jax.default_backend()} devices, {jax.device_count()} in all")


__all__ = ["ENV", "Launch", "add_flags", "cluster_detected", "describe", "from_flags_or_env", "initialize",
           "initialize_from_flags"]
