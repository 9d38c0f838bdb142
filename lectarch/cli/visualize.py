"""lectarch visualize --workdir DIR [--step N] [--index I]"""

from lectarch.cli import args as A

HELP = "write a trained model's pictures (filters, feature maps, attention, ...) from a workdir's checkpoint"


def add_arguments(p) -> None:
    p.add_argument("--workdir", required=True, type=A.existing_dir, help="a workdir written by `lectarch train` (config.json + checkpoints)")
    p.add_argument("--step", type=A.int_range(-1), default=-1, help="checkpoint step (default: the latest)")
    p.add_argument("--index", type=A.non_negative_int, default=0, help="which eval example the pictures show")


def run(args, overrides: list[str]) -> int:
    import pathlib

    from lectarch.config import ConfigError
    from lectarch.experiment import build_run, saved_config
    from lectarch.train.run import restored
    from lectarch.models.capabilities import Pictures
    from lectarch.viz import render
    from lectarch.viz.model_pictures import model_pictures

    if overrides:
        raise ConfigError("visualize takes no --config overrides: it uses the workdir's config.json")
    workdir = pathlib.Path(args.workdir).absolute()
    cfg = saved_config(workdir)
    run = build_run(cfg, num_devices=1)  # the dataset is built once, here
    if not isinstance(run.model, Pictures):  # before a checkpoint is read
        raise ConfigError(f"model {cfg.model.name!r} draws no pictures (it has no pictures(inputs) method: "
                          f"docs/your-own-model.md shows one)")
    run = restored(run, workdir, None if args.step < 0 else args.step)
    if not 0 <= args.index < len(run.dataset.eval):
        raise ConfigError(f"--index={args.index} is out of range: the eval split has {len(run.dataset.eval)} examples")
    pictures = model_pictures(run.model, run.dataset, args.index)

    from tensorboardX import SummaryWriter

    tb = SummaryWriter(str(workdir / "tensorboard"))
    try:
        written = render.write(pictures, run.step, workdir / "pictures", tb)
    finally:
        tb.close()
    print(f"{cfg.model.name} at step {run.step}, eval example {args.index}: {len(written)} pictures")
    for path in written:
        print(f"  {path}")
    return 0
