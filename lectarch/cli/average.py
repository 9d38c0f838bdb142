"""lectarch average --workdir DIR --last N --out DIR2

The Transformer paper's checkpoint averaging: the parameters of the run's last N verified checkpoints
averaged into one checkpoint, written with the run's config.json to a new workdir DIR2 (DIR is not
changed). Evaluate, decode or draw it like any run: ``lectarch decode --workdir DIR2``.
"""

from lectarch.cli import args as A

HELP = "average the parameters of a run's last N checkpoints into a new workdir (Vaswani et al. 2017)"


def add_arguments(p) -> None:
    p.add_argument("--workdir", required=True, type=A.existing_dir, help="a workdir written by `lectarch train`")
    p.add_argument("--last", type=A.int_range(2, 1000), default=5, help="how many of the latest checkpoints (default 5)")
    p.add_argument("--out", required=True, type=A.workdir_path, help="the new workdir for the averaged checkpoint")


def run(args, overrides: list[str]) -> int:
    from lectarch.config import ConfigError
    from lectarch.experiment import build_run, saved_config
    from lectarch.train.averaging import average_checkpoints

    if overrides:
        raise ConfigError("average takes no --config overrides: it uses the workdir's config.json")
    cfg = saved_config(args.workdir)
    run = build_run(cfg, num_devices=1)
    steps, out = average_checkpoints(run.state, cfg.to_json(indent=2) + "\n", args.workdir, args.last, args.out)
    print(f"averaged the parameters of steps {', '.join(map(str, steps))} of {args.workdir} into {out} "
          f"(one checkpoint at step {steps[-1]})")
    return 0
