"""lectarch doctor [--workdir DIR]: what a run will get on this machine, and where it will fail.

Prints the versions of jax, jaxlib and the accelerator plugins, the backend and its devices (this
process and in all), what SLURM or the TPU VM allocated against what JAX sees, whether the
workdir's file system enforces the run lock and replaces files atomically, its free disk and the
compilation cache. Exit 0 when everything agrees; 1 with one line per problem when not.
"""

import sys

from lectarch.cli import args as A

HELP = "check the install, the devices, SLURM/TPU allocation, the workdir's file system and the compilation cache"


def add_arguments(p) -> None:
    p.add_argument("--workdir", default=".", type=A.output_dir,
                   help="the folder whose file system runs will write to (default: the current directory)")


def run(args, overrides: list[str]) -> int:
    from lectarch.runtime import doctor

    facts = doctor.gather(args.workdir)
    for line in doctor.report(facts):
        print(line)
    found = doctor.problems(facts)
    for line in found:
        print(f"problem: {line}", file=sys.stderr)
    if found:
        print(f"{len(found)} problem(s)", file=sys.stderr)
    else:
        print("ok: everything agrees")
    return 1 if found else 0
