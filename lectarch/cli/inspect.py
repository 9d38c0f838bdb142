"""lectarch inspect (--config FILE | --workdir DIR) [--what forward|grad|train_step|all|summary] [--save DIR] [--hlo] [--jaxpr]

For each chosen program of the experiment (the model's forward pass, the loss gradient, the whole
train step): a histogram of the primitives in its jaxpr, then XLA's compiled FLOPs, bytes accessed,
peak memory and compile time. ``--jaxpr`` also prints the jaxpr; ``--save DIR`` writes
``<what>.jaxpr.txt``, ``<what>.json`` (histogram and costs) and, with ``--hlo``,
``<what>.stablehlo.mlir`` and ``<what>.optimized_hlo.txt``. Nothing is trained or executed.

``--what memory`` prints the per-device peak memory of the train step (XLA's analysis at abstract
shapes) as configured, with ``model.remat``, with ``accumulate_steps`` 2/4/8, in bfloat16 and all
combined, for ``--devices N`` data-parallel devices, and whether each fits the device
(``lectarch.inspect.memory_table``).

``--what summary`` instead prints the model's per-layer table (path, type, parameter shapes and
count; FLOPs per call where ``nnx.tabulate`` can trace the model) and the total parameter count.
"""

import contextlib
import json
import pathlib

from lectarch.cli import args as A

HELP = "print and save the jaxprs, primitive histograms and compiled costs of an experiment's programs"


def add_arguments(p) -> None:
    p.add_argument("--config", default="", type=A.optional_existing_file, help="experiment file with get_config()")
    p.add_argument("--workdir", default="", type=A.optional_existing_dir, help="instead of --config: a training workdir (its config.json)")
    p.add_argument("--what", default="all", choices=("forward", "grad", "train_step", "all", "summary", "memory"),
                   help="which program (default: all three), or summary: the per-layer parameter table, or memory: "
                        "the per-device peak of the train step as configured and with remat, accumulation, bf16")
    p.add_argument("--devices", type=A.positive_int, default=1,
                   help="with --what memory: the data-parallel devices the batch is split over (default 1)")
    p.add_argument("--device-memory-gib", type=A.non_negative_float, default=0.0,
                   help="with --what memory: compare with this much memory per device (default: this machine's "
                        "device, or host RAM on a CPU)")
    p.add_argument("--save", default="", type=lambda t: t and A.output_dir(t), metavar="DIR", help="write jaxprs, histograms and costs to DIR")
    p.add_argument("--hlo", action="store_true", help="with --save: also write StableHLO and optimised HLO text")
    p.add_argument("--jaxpr", action="store_true", help="print the whole jaxpr too")
    p.add_argument("--batch-size", type=A.non_negative_int, default=0, help="trace with this global batch size instead of the config's")
    p.add_argument("--sharded", action="store_true",
                   help="compile over the data mesh as the trainer does (costs per device)")
    p.add_argument("--step", default="lean", choices=("lean", "logging"),
                   help="which train step: lean (default: the step that runs between log/eval/checkpoint steps) "
                        "or logging (the step at those boundaries, with gradient norms)")
    p.add_argument("--no-compile", action="store_true", help="jaxprs only: skip XLA compilation")
    p.add_argument("--mock-data", action="store_true",
                   help="TFDS datasets: use tfds.testing.mock_data (random data of the right shapes)")
    p.add_argument("--top", type=A.non_negative_int, default=15, help="rows of the primitive histogram to print (0: all)")
    p.epilog = "Override any config value with --config.KEY=VALUE."


@contextlib.contextmanager
def _data_context(mock: bool):
    """``--mock-data``: TFDS's random data of the right shapes. Its metadata folders hold no
    ``dataset_info.json`` for some variants, which TFDS logs as an absl warning on every call; mock
    data is what was asked for, so that one notice is dropped."""
    if not mock:
        yield
        return
    import logging

    import tensorflow_datasets as tfds

    class _DropMockNotice(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "has no dataset_info.json" not in record.getMessage()

    absl_logger, notice = logging.getLogger("absl"), _DropMockNotice()
    absl_logger.addFilter(notice)
    try:
        with tfds.testing.mock_data(num_examples=8):
            yield
    finally:
        absl_logger.removeFilter(notice)


def run(args, overrides: list[str]) -> int:
    from lectarch.experiment import config_of

    cfg = config_of(args.config, args.workdir, overrides)
    source = args.config or f"{args.workdir}/config.json"
    from lectarch.inspect.costs import format_costs, program_costs
    from lectarch.inspect.jaxpr import format_histogram, num_equations, primitive_histogram, program_jaxpr
    from lectarch.experiment import build_run
    from lectarch.inspect.programs import WHATS

    if args.what == "memory":
        with _data_context(args.mock_data):
            return _memory(args, overrides, source)
    if args.what == "summary":
        with _data_context(args.mock_data):
            return _summary(build_run(cfg, batch_size=args.batch_size or 1, abstract=True, num_devices=1), source)
    whats = WHATS if args.what == "all" else (args.what,)
    save = pathlib.Path(args.save) if args.save else None
    if save:
        save.mkdir(parents=True, exist_ok=True)
    with _data_context(args.mock_data):
        run = build_run(cfg, batch_size=args.batch_size or None, abstract=True, num_devices=1)
    for what in whats:
        jaxpr = program_jaxpr(run, what, args.step)
        hist = primitive_histogram(jaxpr)
        print(f"=== {what} ({source}, batch {_batch_size(run)}) ===")
        if args.jaxpr:
            print(jaxpr)
        print(f"jaxpr: {num_equations(jaxpr)} equations ({len(jaxpr.jaxpr.eqns)} at top level)")
        print(format_histogram(hist, args.top))
        record = {"what": what, "config": source, "num_equations": num_equations(jaxpr),
                  "top_level_equations": len(jaxpr.jaxpr.eqns), "histogram": dict(hist.most_common())}
        if not args.no_compile:
            costs = program_costs(run, what, sharded=args.sharded, keep_text=bool(save and args.hlo),
                                  step_kind=args.step)
            print(format_costs(costs))
            record["costs"] = costs.summary()
            if save and args.hlo:
                (save / f"{what}.stablehlo.mlir").write_text(costs.stablehlo)
                (save / f"{what}.optimized_hlo.txt").write_text(costs.optimized_hlo)
        if save:
            (save / f"{what}.jaxpr.txt").write_text(str(jaxpr) + "\n")
            (save / f"{what}.json").write_text(json.dumps(record, indent=2) + "\n")
        print()
    if save:
        print(f"saved to {save}")
    return 0


def _memory(args, overrides: list[str], source: str) -> int:
    import sys

    import jax

    from lectarch.experiment import config_of
    from lectarch.inspect.memory_table import format_table, memory_rows
    from lectarch.train.memory import HEADROOM, available_bytes

    load = lambda extra: config_of(args.config, args.workdir, [*overrides, *extra])  # noqa: E731
    print(f"=== memory ({source}, {args.devices} device(s), data parallel) ===")
    rows = memory_rows(load, args.devices, progress=lambda name: print(f"compiling: {name}", file=sys.stderr, flush=True))
    if args.device_memory_gib:
        available, where = int(args.device_memory_gib * 2**30), f"{args.device_memory_gib:g} GiB per device (--device-memory-gib)"
    else:
        available, where = available_bytes(jax.devices()[0])
    print(format_table(rows, available, where, HEADROOM))
    return 0


def _summary(run, source: str) -> int:
    from lectarch.inspect.summary import abstract_model, flops_table, format_rows, layer_rows, why_no_flops

    print(f"=== summary ({source}, model {run.cfg.model.name}) ===")
    print(format_rows(layer_rows(abstract_model(run))))
    print()
    try:
        table = flops_table(run)
    except Exception as e:  # noqa: BLE001 - nnx.tabulate cannot trace every model; the table above stands
        print(why_no_flops(e))
    else:
        print(f"FLOPs per layer and call (nnx.tabulate, batch {_batch_size(run)}):")
        print(table)
    return 0


def _batch_size(run) -> int:
    import jax

    return int(jax.tree.leaves(run.batch)[0].shape[0])
