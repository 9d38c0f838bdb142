"""lectarch inspect (--config FILE | --workdir DIR) [--what forward|grad|train_step|all|summary] [--save DIR] [--hlo] [--jaxpr]

For each chosen program of the experiment (the model's forward pass, the loss gradient, the whole
train step): a histogram of the primitives in its jaxpr, then XLA's compiled FLOPs, bytes accessed,
peak memory and compile time. ``--jaxpr`` also prints the jaxpr; ``--save DIR`` writes
``<what>.jaxpr.txt``, ``<what>.json`` (histogram and costs) and, with ``--hlo``,
``<what>.stablehlo.mlir`` and ``<what>.optimized_hlo.txt``. Nothing is trained or executed.

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
    p.add_argument("--what", default="all", choices=("forward", "grad", "train_step", "all", "summary"),
                   help="which program (default: all three), or summary: the per-layer parameter table")
    p.add_argument("--save", default="", type=lambda t: t and A.output_dir(t), metavar="DIR", help="write jaxprs, histograms and costs to DIR")
    p.add_argument("--hlo", action="store_true", help="with --save: also write StableHLO and optimised HLO text")
    p.add_argument("--jaxpr", action="store_true", help="print the whole jaxpr too")
    p.add_argument("--batch-size", type=A.non_negative_int, default=0, help="trace with this global batch size instead of the config's")
    p.add_argument("--sharded", action="store_true",
                   help="compile over the data mesh as the trainer does (costs per device)")
    p.add_argument("--no-compile", action="store_true", help="jaxprs only: skip XLA compilation")
    p.add_argument("--mock-data", action="store_true",
                   help="TFDS datasets: use tfds.testing.mock_data (random data of the right shapes)")
    p.add_argument("--top", type=A.non_negative_int, default=15, help="rows of the primitive histogram to print (0: all)")
    p.epilog = "Override any config value with --config.KEY=VALUE."


def _data_context(mock: bool):
    if not mock:
        return contextlib.nullcontext()
    import tensorflow_datasets as tfds

    return tfds.testing.mock_data(num_examples=8)


def run(args, overrides: list[str]) -> int:
    from lectarch.experiment import config_of

    cfg = config_of(args.config, args.workdir, overrides)
    source = args.config or f"{args.workdir}/config.json"
    from lectarch.inspect.costs import format_costs, program_costs
    from lectarch.inspect.jaxpr import format_histogram, num_equations, primitive_histogram, program_jaxpr
    from lectarch.inspect.programs import WHATS, build_programs

    if args.what == "summary":
        with _data_context(args.mock_data):
            return _summary(build_programs(cfg, batch_size=args.batch_size or 1), args.config)
    whats = WHATS if args.what == "all" else (args.what,)
    save = pathlib.Path(args.save) if args.save else None
    if save:
        save.mkdir(parents=True, exist_ok=True)
    with _data_context(args.mock_data):
        programs = build_programs(cfg, batch_size=args.batch_size or None)
    for what in whats:
        jaxpr = program_jaxpr(programs, what)
        hist = primitive_histogram(jaxpr)
        print(f"=== {what} ({source}, batch {_batch_size(programs)}) ===")
        if args.jaxpr:
            print(jaxpr)
        print(f"jaxpr: {num_equations(jaxpr)} equations ({len(jaxpr.jaxpr.eqns)} at top level)")
        print(format_histogram(hist, args.top))
        record = {"what": what, "config": source, "num_equations": num_equations(jaxpr),
                  "top_level_equations": len(jaxpr.jaxpr.eqns), "histogram": dict(hist.most_common())}
        if not args.no_compile:
            costs = program_costs(programs, what, sharded=args.sharded, keep_text=bool(save and args.hlo))
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


def _summary(programs, config: str) -> int:
    from lectarch.inspect.summary import abstract_model, flops_table, format_rows, layer_rows

    print(f"=== summary ({config}, model {programs.cfg.model.name}) ===")
    print(format_rows(layer_rows(abstract_model(programs))))
    print()
    try:
        table = flops_table(programs)
    except Exception as e:  # noqa: BLE001 - nnx.tabulate cannot trace every model; the table above stands
        print(f"FLOPs per layer: not available (nnx.tabulate: {type(e).__name__}: {str(e).splitlines()[0][:200]})")
    else:
        print(f"FLOPs per layer and call (nnx.tabulate, batch {_batch_size(programs)}):")
        print(table)
    return 0


def _batch_size(programs) -> int:
    import jax

    return int(jax.tree.leaves(programs.batch)[0].shape[0])
