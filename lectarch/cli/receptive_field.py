"""lectarch receptive-field (--config FILE | --workdir DIR) [--size N] [--check] [--config.KEY=VALUE ...]"""

from lectarch.cli import args as A

HELP = "print the receptive field of every layer of a config's CNN (Araujo et al., Distill 2019)"


def add_arguments(p) -> None:
    p.add_argument("--config", default="", type=A.optional_existing_file, help="experiment file, e.g. experiments/configs/alexnet_imagenette.py")
    p.add_argument("--workdir", default="", type=A.optional_existing_dir, help="instead of --config: a training workdir (its config.json)")
    p.add_argument("--size", type=A.int_range(0, 100_000), default=0,
                   help="input side in pixels (default: config.data.image_size, else the dataset's images)")
    p.add_argument("--check", action="store_true",
                   help="also measure every layer's receptive field from input gradients and compare")


def one_dimensional(cfg) -> bool:
    """Whether the config's model is a 1-D network as far as the config alone says."""
    return cfg.model.name == "tcn" or cfg.model.get("dims", 0) == 1


def input_shape(cfg, size: int = 0) -> tuple[int, ...]:
    """``(H, W, C)`` of the config's images or ``(T, C)`` of its signals, without reading the data where
    the config or ``size`` says it (``size`` replaces ``T`` for signals).

    The channel count does not change a receptive field; where it is not known cheaply it is taken as 3.
    """
    from lectarch.config import ConfigError

    image_size = 0 if one_dimensional(cfg) else size or cfg.data.get("image_size", 0)
    if image_size:
        return image_size, image_size, 1 if cfg.data.name == "digits" else 3
    from lectarch.data import build_dataset

    shape = tuple(build_dataset(cfg).spec.input_shape)
    if len(shape) == 3 and not one_dimensional(cfg):
        return shape
    if len(shape) == 3:
        raise ConfigError(f"the config's data gives images of shape {shape} to a 1-D model; "
                          f"read them as sequences with --config.data.as_sequence=rows")
    T, C = (shape[0], 1) if len(shape) == 1 else shape
    return (size or T, C)


def abstract_model(cfg, shape: tuple[int, int, int]):
    """The config's model with shapes only (no parameters are allocated)."""
    from flax import nnx

    from lectarch.data.spec import DataSpec
    from lectarch.models import build_model

    spec = DataSpec(input_shape=shape, num_outputs=10)
    return nnx.eval_shape(lambda: build_model(cfg, spec, nnx.Rngs(0)))


def run(args, overrides: list[str]) -> int:
    from lectarch.config import ConfigError
    from lectarch.experiment import config_of
    from lectarch.models.capabilities import ReceptiveFields
    from lectarch.ops import receptive_field as rf

    cfg = config_of(args.config, args.workdir, overrides)
    shape = input_shape(cfg, args.size)
    model = abstract_model(cfg, shape)
    if not isinstance(model, ReceptiveFields):
        raise ConfigError(f"model {cfg.model.name!r} has no convolution/pooling layers to compute receptive fields "
                          f"of (it has no receptive_field_layers() method)")
    layers = model.receptive_field_layers()
    try:
        rows = rf.receptive_fields(layers, shape[0])
    except ValueError as e:
        raise ConfigError(str(e)) from None
    where = (f"T={shape[0]}: receptive field per layer (1-D; unit t sees inputs [t*stride - padding, ... + size - 1])"
             if len(shape) == 2 else f"{shape[0]}x{shape[1]}: receptive field per layer "
             f"(square, per axis; unit i sees inputs [i*stride - padding, ... + size - 1])")
    print(rf.format_table(rows, f"{cfg.model.name} at {where}"))
    if args.check:
        report = measure(cfg, shape, rows)
        print("\nmeasured (support of the input gradient of units of each layer; max pooling probed as a "
              "window sum, positive weights):")
        print("\n".join("  " + line for line in report))
        return 1 if any(line.startswith("MISMATCH") for line in report) else 0
    return 0


def measure(cfg, shape: tuple[int, int, int], rows) -> list[str]:
    """The config's network with positive parameters: each layer's measured field against ``rows``."""
    from lectarch.ops import receptive_field as rf

    model = rf.positive_copy(abstract_model(cfg, shape))
    if len(shape) == 2:
        stack = model.features if hasattr(model, "features") else model  # a 1-D CNN's Features, or the TCN
        return rf.compare_1d(lambda x: [m for _, m in stack.feature_maps(x)], shape, rows)
    return rf.compare(lambda x: [m for _, m in model.features.feature_maps(x)], shape, rows)
