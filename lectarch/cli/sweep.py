"""lectarch sweep --config FILE --space SPACE_FILE --workdir DIR [--trials N] [--storage URL] [--sampler S] [--pruner P]

Exit codes: 0 when at least one trial completed (or none failed); a sweep in which no trial
completed and one failed exits 2 (3 when that first failure was a non-finite loss), naming the
first failure's trial and reason; 130 when interrupted. A bad space file or storage is one line,
exit 2, before any trial.
"""

import sys

from lectarch.cli import args as A

HELP = "hyperparameter sweep with Optuna (resumable; workers on other machines join via --storage)"


def add_arguments(p) -> None:
    p.add_argument("--config", required=True, type=A.existing_file, help="experiment file with get_config()")
    p.add_argument("--space", required=True, type=A.existing_file, help="search space file with space(trial), e.g. experiments/sweeps/mlp_digits_lr.py")
    p.add_argument("--workdir", required=True, type=A.workdir_path, help="the study database (default), trials/NNNN sub-workdirs, trials.csv, plots")
    p.add_argument("--trials", type=A.positive_int, default=None,
                   help="trials the study should hold in all (default: TRIALS of the space file; grid: its size)")
    p.add_argument("--storage", default=None, type=A.storage_url,
                   help="study storage shared by workers: postgresql://user:pw@host:port/db, journal:PATH (a file "
                        "on a shared file system) or sqlite:///PATH (default: sqlite in the workdir)")
    p.add_argument("--sampler", choices=("grid", "random", "tpe"), default=None, help="default: SAMPLER of the space file")
    p.add_argument("--pruner", choices=("none", "median"), default=None,
                   help="stop trials early on intermediate eval metrics (default: PRUNER of the space file; "
                        "else none for a grid, median otherwise)")
    p.add_argument("--study-name", default=None,
                   help="default: EXPERIMENT-SPACE (file stems; for a RUN/config.json, RUN's folder name); "
                        "workers must agree")
    p.add_argument("--seed", type=A.non_negative_int, default=None, help="sampler seed (default: fresh randomness per worker)")
    p.add_argument("--vmapped", action="store_true",
                   help="instead: train the VMAPPED trials of the space file at once, jax.vmap over trials")
    p.epilog = ("Override the base config with --config.KEY=VALUE. Run the same command again to resume; run it "
                "on other machines with the same --storage URL to add workers.")


def run(args, overrides: list[str]) -> int:
    if args.vmapped:
        return _run_vmapped(args, overrides)
    from lectarch.sweep.optuna_sweep import first_failure, run_sweep
    from lectarch.sweep.results import summary

    result = run_sweep(args.config, args.space, args.workdir, trials=args.trials, storage=args.storage,
                       sampler=args.sampler, study_name=args.study_name, seed=args.seed, overrides=overrides,
                       pruner=args.pruner)
    print(summary(result.study, result.study.user_attrs.get("metric", "value")))
    if result.csv is not None:
        print(f"trials  {result.csv}")
    for p in result.plots:
        print(f"plot    {p}")
    if result.status == "interrupted":
        return 130
    import optuna

    completed = result.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    failure = None if completed else first_failure(result.study)
    if failure is not None:  # nothing to show for the sweep: say why, as a failed command does
        print(f"lectarch sweep: error: no trial completed; the first failure was {failure}", file=sys.stderr)
        return 3 if failure.split(": ", 1)[-1].startswith("non-finite") else 2
    return 0


def _run_vmapped(args, overrides: list[str]) -> int:
    from lectarch.experiment import load_config
    from lectarch.sweep.space import check_vmapped, load_space
    from lectarch.sweep.vmapped import train_vmapped

    space = load_space(args.space)
    base = ["progress=false", *overrides]
    trials = check_vmapped(space, lambda values: load_config(args.config, [*base, *values]))
    cfg = load_config(args.config, base)
    results = train_vmapped(cfg, trials, args.workdir)
    for r in results:
        print(f"trial {r['trial']}: {r['hyperparameters']} -> " + ", ".join(
            f"{k}={v:.4f}" for k, v in r["last_eval"].items()) + f"  ({r['workdir']})",
            file=sys.stdout if r["status"] == "finished" else sys.stderr)
    return 0
