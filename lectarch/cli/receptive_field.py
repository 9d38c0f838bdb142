"""lectarch receptive-field (--config FILE | --workdir DIR) [--size N] [--check] [--config.KEY=VALUE ...]

Everything comes from the model's ``ReceptiveFields`` capability (``lectarch.models.capabilities``):
its dimensionality, input channels, layer geometry and per-layer maps, so a plug-in model is treated
exactly as a built-in one. The input's shape comes from the config where the dataset module can say it
(``lectarch.data.input_shape_of``), else from the dataset.
"""

from lectarch.cli import args as A

HELP = "print the receptive field of every layer of a config's CNN (Araujo et al., Distill 2019)"


def add_arguments(p) -> None:
    p.add_argument("--config", default="", type=A.optional_existing_file, help="experiment file, e.g. experiments/configs/alexnet_imagenette.py")
    p.add_argument("--workdir", default="", type=A.optional_existing_dir, help="instead of --config: a training workdir (its config.json)")
    p.add_argument("--size", type=A.int_range(0, 100_000), default=0,
                   help="input side in pixels (default: config.data.image_size, else the dataset's images)")
    p.add_argument("--check", action="store_true",
                   help="also measure every layer's receptive field from input gradients and compare")


def resized(shape: tuple[int, ...], dims: int, size: int) -> tuple[int, ...]:
    """``shape`` with its ``dims`` leading (spatial or time) axes set to ``size`` (0: unchanged)."""
    return (size,) * dims + tuple(shape[dims:]) if size else tuple(shape)


def abstract_model(cfg, shape: tuple[int, ...]):
    """The config's model for inputs of ``shape``, with shapes only (no parameters are allocated)."""
    from flax import nnx

    from lectarch.data.spec import DataSpec
    from lectarch.models import build_model

    spec = DataSpec(input_shape=shape, num_outputs=10)
    return nnx.eval_shape(lambda: build_model(cfg, spec, nnx.Rngs(0)))


def run(args, overrides: list[str]) -> int:
    from lectarch.config import ConfigError
    from lectarch.data import input_shape_of
    from lectarch.experiment import config_of
    from lectarch.models.capabilities import ReceptiveFields
    from lectarch.ops import receptive_field as rf

    cfg = config_of(args.config, args.workdir, overrides)
    data_shape = input_shape_of(cfg)
    model = abstract_model(cfg, data_shape)
    if not isinstance(model, ReceptiveFields):
        raise ConfigError(f"model {cfg.model.name!r} has no convolution/pooling layers to compute receptive fields "
                          f"of (it lacks the ReceptiveFields capability: lectarch.models.capabilities)")
    dims = model.receptive_field_dims
    if dims not in (1, 2):
        raise ConfigError(f"model {cfg.model.name!r}: receptive_field_dims={dims!r}, but a receptive field is "
                          f"computed for 1 (signals) or 2 (images) dimensions (lectarch.models.capabilities.ReceptiveFields)")
    if dims == 1 and len(data_shape) == 3:
        raise ConfigError(f"the config's data gives images of shape {data_shape} to a 1-D model; "
                          f"read them as sequences with --config.data.as_sequence=rows")
    shape = (*resized(data_shape, dims, args.size)[:dims], model.receptive_field_channels)
    if args.size:
        model = abstract_model(cfg, resized(data_shape, dims, args.size))
    layers = model.receptive_field_layers()
    try:
        rows = rf.receptive_fields(layers, shape[0])
    except ValueError as e:
        raise ConfigError(str(e)) from None
    where = (f"T={shape[0]}: receptive field per layer (1-D; unit t sees inputs [t*stride - padding, ... + size - 1])"
             if dims == 1 else f"{shape[0]}x{shape[1]}: receptive field per layer "
             f"(square, per axis; unit i sees inputs [i*stride - padding, ... + size - 1])")
    print(rf.format_table(rows, f"{cfg.model.name} at {where}"))
    if args.check:
        report = measure(model, shape, rows)
        print("\nmeasured (support of the input gradient of units of each layer; max pooling probed as a "
              "window sum, positive weights):")
        print("\n".join("  " + line for line in report))
        return 1 if any(line.startswith("MISMATCH") for line in report) else 0
    return 0


def measure(model, shape: tuple[int, ...], rows) -> list[str]:
    """``model``'s network with positive parameters: each layer's measured field against ``rows``,
    through the capability's ``receptive_field_maps`` (``(T, C)`` or ``(H, W, C)`` inputs)."""
    from lectarch.ops import receptive_field as rf

    positive = rf.positive_copy(model)
    compare = rf.compare_1d if len(shape) == 2 else rf.compare
    return compare(positive.receptive_field_maps, shape, rows)
