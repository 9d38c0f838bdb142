"""lectarch train --config FILE --workdir DIR [--config.KEY=VALUE ...]"""

import shlex
import sys

from lectarch.cli import args as A
from lectarch.cli import multihost

HELP = "train an experiment config (resumes from the workdir's latest checkpoint)"


def add_arguments(p) -> None:
    p.add_argument("--config", required=True, type=A.existing_file, help="experiment file with get_config(), e.g. experiments/configs/mlp_digits.py")
    p.add_argument("--workdir", required=True, type=A.workdir_path, help="where checkpoints, metrics.jsonl, TensorBoard files and pictures go")
    p.epilog = "Override any config value with --config.KEY=VALUE, e.g. --config.learning_rate=0.01"
    multihost.add_flags(p)


def run(args, overrides: list[str]) -> int:
    joined = multihost.initialize_from_flags(args)  # before anything touches a device
    from lectarch.experiment import load_config

    cfg = load_config(args.config, overrides)  # validated before anything is built or compiled
    from lectarch import runtime
    from lectarch.runtime import backend

    runtime.configure(compilation_cache_setting=cfg.get("compilation_cache", "auto"))
    backend.announce(print_backend=not joined)  # a joined process has said its devices already
    from lectarch.experiment import train
    from lectarch.inspect.backward_nan import explain_nonfinite
    from lectarch.train.loop import summary

    command = "lectarch train " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else ""
    result = train(cfg, args.workdir, resume_command=command, explain_nonfinite=explain_nonfinite)
    print(summary(result), file=sys.stderr if result.exit_code else sys.stdout)
    return result.exit_code
