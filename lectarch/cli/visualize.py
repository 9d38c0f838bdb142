"""lectarch visualize --workdir DIR [--step N] [--index I]"""

from lectarch.cli import args as A

HELP = "write a trained model's pictures (filters, feature maps, attention, ...) from a workdir's checkpoint"


def add_arguments(p) -> None:
    p.add_argument("--workdir", required=True, type=A.existing_dir, help="a workdir written by `lectarch train` (config.json + checkpoints)")
    p.add_argument("--step", type=A.int_range(-1), default=-1, help="checkpoint step (default: the latest)")
    p.add_argument("--index", type=A.non_negative_int, default=0, help="which eval example the pictures show")


def run(args, overrides: list[str]) -> int:
    import pathlib

    import numpy as np
    from flax import nnx

    from lectarch.config import ConfigError
    from lectarch.data import build_dataset, pipeline
    from lectarch.models import build_model
    from lectarch.experiment import saved_config
    from lectarch.models.capabilities import Pictures
    from lectarch.train.metrics import save_png
    from lectarch.train.restore import open_run

    if overrides:
        raise ConfigError("visualize takes no --config overrides: it uses the workdir's config.json")
    workdir = pathlib.Path(args.workdir).absolute()
    cfg = saved_config(workdir)
    # the model's type decides first (no checkpoint is read for a model that draws nothing)
    spec = build_dataset(cfg).spec
    if not isinstance(nnx.eval_shape(lambda: build_model(cfg, spec, nnx.Rngs(0))), Pictures):
        raise ConfigError(f"model {cfg.model.name!r} draws no pictures (it has no pictures(inputs) method)")
    run = open_run(workdir, None if args.step < 0 else args.step)
    if not 0 <= args.index < len(run.dataset.eval):
        raise ConfigError(f"--index={args.index} is out of range: the eval split has {len(run.dataset.eval)} examples")
    images = run.model.pictures(pipeline.stack([run.dataset.eval[args.index]])["inputs"])
    step = run.step

    from tensorboardX import SummaryWriter

    tb = SummaryWriter(str(workdir / "tensorboard"))
    written = []
    for name, image in images.items():
        path = workdir / "pictures" / f"{name}_step{step}.png"
        save_png(path, image)
        img = np.clip(np.asarray(image, np.float32), 0, 1)
        tb.add_image(name, img[..., None] if img.ndim == 2 else img, step, dataformats="HWC")
        written.append(path)
    tb.close()
    print(f"{cfg.model.name} at step {step}, eval example {args.index}: {len(written)} pictures")
    for path in written:
        print(f"  {path}")
    return 0
