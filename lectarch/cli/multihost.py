"""The multi-host flags of a command: ``--distributed``, ``--coordinator``, ``--num-processes``,
``--process-id`` (lectarch/train/distributed.py joins the run they describe)."""

import sys

from lectarch.cli import args as A


def add_flags(parser) -> None:
    """``--distributed``, ``--coordinator``, ``--num-processes``, ``--process-id`` on a CLI command."""
    g = parser.add_argument_group("multi-host (see launch/ and lectarch/train/distributed.py)")
    g.add_argument("--distributed", action="store_true",
                   help="join a multi-process run: from the flags below, from JAX_COORDINATOR_ADDRESS/"
                        "JAX_NUM_PROCESSES/JAX_PROCESS_ID, or found on SLURM and Cloud TPU VMs")
    g.add_argument("--coordinator", default=None, metavar="HOST:PORT", type=A.coordinator_address,
                   help="address of process 0 (implies --distributed)")
    g.add_argument("--num-processes", type=A.int_range(1), default=None, metavar="N", help="number of processes")
    g.add_argument("--process-id", type=A.int_range(0), default=None, metavar="I", help="this process, in [0, N)")


def initialize_from_flags(args) -> bool:
    """``distributed.initialize`` when the command line asks for it (``--distributed`` or
    ``--coordinator``); a bad combination of flags is a ``ConfigError``."""
    if not (getattr(args, "distributed", False) or getattr(args, "coordinator", None)):
        return False
    from lectarch.config import ConfigError
    from lectarch.train import distributed

    try:
        launch = distributed.from_flags_or_env(args.coordinator, args.num_processes, args.process_id)
        started = distributed.initialize(launch)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if not started:
        print("lectarch: --distributed but no coordinator, JAX_* variables or cluster found: "
              "running as one process", file=sys.stderr)
    via = "flags/environment" if launch.explicit else (distributed.cluster_detected() or "cluster detection")
    print(f"{distributed.describe()} (joined via {via})" if started else distributed.describe(), file=sys.stderr)
    return started


__all__ = ["add_flags", "initialize_from_flags"]
