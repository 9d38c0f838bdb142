"""lectarch visualize --workdir DIR [--step N] [--index I]"""

from lectarch.cli import args as A

HELP = "write a trained model's pictures (filters, feature maps, attention, ...) from a workdir's checkpoint"


def add_arguments(p) -> None:
    p.add_argument("--workdir", required=True, type=A.existing_dir, help="a workdir written by `lectarch train` (config.json + checkpoints)")
    p.add_argument("--step", type=A.int_range(-1), default=-1, help="checkpoint step (default: the latest)")
    p.add_argument("--index", type=A.non_negative_int, default=0, help="which eval example the pictures show")


def saved_config(workdir):
    """The validated config a workdir was trained with (its ``config.json``)."""
    import json

    import ml_collections

    from lectarch.config import ConfigError, validate

    path = workdir / "config.json"
    if not path.is_file():
        raise ConfigError(f"{workdir} has no config.json: is it a workdir written by `lectarch train`?")
    cfg = ml_collections.ConfigDict(json.loads(path.read_text()))
    validate(cfg)
    return cfg


def restore(workdir, cfg, spec, step: int):
    """``(model, step)``: the model of the given (or latest good) checkpoint."""
    import orbax.checkpoint as ocp

    from lectarch.config import ConfigError
    from lectarch.train.checkpoint import Checkpointer
    from lectarch.train.state import init_state, merge

    graphdef, state, _ = init_state(cfg, spec)
    ckpt = Checkpointer(workdir / "checkpoints", max_to_keep=cfg.get("max_to_keep", 3), async_save=False)
    try:
        steps = sorted(ckpt.manager.all_steps())
        if not steps:
            raise ConfigError(f"{workdir / 'checkpoints'} holds no checkpoint")
        if step < 0:
            restored = ckpt.restore(state)
            if restored is None:
                raise ConfigError(f"no checkpoint in {workdir / 'checkpoints'} could be restored")
            state, _, step = restored
        else:
            if step not in steps:
                raise ConfigError(f"--step={step}: no such checkpoint in {workdir / 'checkpoints'} (have {steps})")
            import jax

            abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)
            state = ckpt.manager.restore(step, args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract), data=ocp.args.JsonRestore())).state
    finally:
        ckpt.close()
    return merge(graphdef, state), step


def run(args, overrides: list[str]) -> int:
    import pathlib

    import numpy as np

    from lectarch.config import ConfigError
    from lectarch.data import build_dataset, pipeline
    from lectarch.models import model_module
    from lectarch.train.metrics import save_png

    if overrides:
        raise ConfigError("visualize takes no --config overrides: it uses the workdir's config.json")
    workdir = pathlib.Path(args.workdir).absolute()
    cfg = saved_config(workdir)
    hook = getattr(model_module(cfg.model.name), "pictures", None)
    if hook is None:
        raise ConfigError(f"model {cfg.model.name!r} draws no pictures (its module has no pictures(model, inputs))")
    dataset = build_dataset(cfg)
    if not 0 <= args.index < len(dataset.eval):
        raise ConfigError(f"--index={args.index} is out of range: the eval split has {len(dataset.eval)} examples")
    model, step = restore(workdir, cfg, dataset.spec, args.step)
    example = pipeline._stack([dataset.eval[args.index]])
    images = hook(model, example["inputs"])

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
