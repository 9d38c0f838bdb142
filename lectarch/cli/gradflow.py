"""lectarch gradflow (--config FILE | --workdir DIR) --out DIR [--probe layers,time,jacobian,program,nan] [--times 1,10,50]

Gradient-flow probes on one training batch, at initialisation or (``--workdir``) at the latest
checkpoint of a run:

- ``layers``: ||dL/dW_l|| for every layer (any model; layers are submodule paths, ``--group-depth``
  merges them, e.g. 3 for one row per Transformer block): ``layers.png/.csv/.json``;
- ``time`` (recurrent models): ||dL/dh_t|| (and ||dL/dc_t|| for an LSTM) for every t, from one
  backward pass through the scan: ``time.png/.csv/.json``;
- ``jacobian`` (recurrent models): the singular values of dh_T/dh_t, the product of step Jacobians,
  for the steps ``--times``: ``jacobian.png/.csv/.json``;
- ``program`` (any model): ||dL/dv|| for every intermediate value v of the loss's program, in one
  backward pass (``lectarch.inspect.program_grads``), with its module, primitive and source line:
  ``program.png/.csv/.json``, and the sums per module and per primitive
  (``program_modules``, ``program_primitives``);
- ``nan`` (any model): where a non-finite value enters the backward pass (the equation, its module
  and source line: ``lectarch.inspect.backward_nan``): one line printed, the report in ``nan.txt``.

The default ``auto`` runs ``layers`` for every model and ``time`` and ``jacobian`` as well for
recurrent ones. TensorBoard images go to ``OUT/tensorboard``.
"""

import pathlib

from lectarch.cli import args as A

HELP = ("gradient norms per layer, per time step and per intermediate value, step-Jacobian spectra, and where a NaN "
        "enters the backward pass, at init or from a checkpoint")
PROBES = ("layers", "time", "jacobian", "program", "nan")


def add_arguments(p) -> None:
    p.add_argument("--config", default="", type=A.optional_existing_file, help="experiment file with get_config() (default: the --workdir's config.json)")
    p.add_argument("--out", required=True, type=A.output_dir, help="folder for the PNGs, CSV/JSON files and TensorBoard images")
    p.add_argument("--workdir", default="", type=A.optional_existing_dir, help="a training run's workdir: probe its latest checkpoint (default: init)")
    p.add_argument("--probe", default="auto", help="comma-separated subset of layers,time,jacobian,program,nan (default: auto: layers, and time,jacobian for recurrent models)")
    p.add_argument("--times", default=[], type=A.positive_int_list, help="jacobian probe: steps t (1-based) of dh_T/dh_t (default: 5 evenly spaced)")
    p.add_argument("--group-depth", type=A.non_negative_int, default=0, help="layers probe: merge layer paths to their first N parts")
    p.add_argument("--batch-size", type=A.non_negative_int, default=0, help="probe batch size (default: the config's batch_size)")
    p.epilog = "Override any config value with --config.KEY=VALUE (use the run's own overrides with --workdir)."


def _probes(text: str, recurrent: bool) -> list[str]:
    from lectarch.config import ConfigError

    if text == "auto":
        return ["layers", "time", "jacobian"] if recurrent else ["layers"]
    chosen = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in chosen if p not in PROBES]
    if bad:
        raise ConfigError(f"--probe {text!r}: unknown probe(s) {bad}; choose from {', '.join(PROBES)} or auto")
    if not recurrent and set(chosen) & {"time", "jacobian"}:
        raise ConfigError(f"--probe {text!r}: the time and jacobian probes need a recurrent model "
                          f"(one that accepts hidden-state perturbations)")
    return chosen


def run(args, overrides: list[str]) -> int:
    from lectarch.experiment import config_of

    cfg = config_of(args.config, args.workdir, overrides)
    from lectarch.inspect import timeflow
    from lectarch.inspect.gradflow import layer_probe
    from lectarch.experiment import build_run
    from lectarch.train.run import restored
    from lectarch.inspect.report import Report
    from lectarch.viz import gradflow_plots as plots

    run = build_run(cfg, num_devices=1, batch_size=args.batch_size or None)
    if args.batch_size:  # drawn from the training split as the train batch is, and checked the same way
        from lectarch.train.memory import check_batch_sizes

        check_batch_sizes({"--batch-size": args.batch_size}, run.dataset.train[0],
                          split=("the training split", len(run.dataset.train)))
    where = "initialisation"
    if args.workdir:
        run = restored(run, args.workdir)
        where = f"step {run.step} of {args.workdir}"
    label = f"{cfg.model.name} at {where}"
    report = Report(pathlib.Path(args.out))
    for probe in _probes(args.probe, timeflow.is_recurrent(run)):
        if probe == "layers":
            rows = layer_probe(run, depth=args.group_depth or None)
            report.table("layers", [r.row() for r in rows])
            report.figure("layers", plots.layer_norms_figure({label: [(r.layer, r.grad_norm) for r in rows]}))
            print(f"{'layer':<40} {'||dL/dW||':>11} {'||W||':>11} {'ratio':>10}")
            for r in rows:
                print(f"{r.layer:<40} {r.grad_norm:11.4e} {r.param_norm:11.4e} {r.ratio:10.3e}")
        elif probe == "time":
            norms = timeflow.time_probe(run)
            report.table("time", timeflow.time_rows(norms))
            report.figure("time", plots.time_norms_figure({f"{k} ({label})": v for k, v in norms.items()}))
            for k, v in norms.items():
                print(f"{k}: t=1 {v[0]:.4e}  t=T/2 {v[len(v) // 2]:.4e}  t=T {v[-1]:.4e}  (T={len(v)})")
        elif probe == "jacobian":
            times = args.times or None
            svals = timeflow.jacobian_probe(run, times)
            report.table("jacobian", [{"t": t, "i": i + 1, "singular_value": s}
                                      for t, ss in svals.items() for i, s in enumerate(ss)])
            report.figure("jacobian", plots.singular_values_figure(svals, f"dh_T/dh_t, {label}"))
            for t, ss in svals.items():
                print(f"dh_T/dh_t for t={t}: ||.||_2 = {ss[0]:.4e}, smallest singular value {ss[-1]:.4e}")
        elif probe == "program":
            _program_probe(run, report, label)
        elif probe == "nan":
            _nan_probe(run, report)
    report.close()
    print(f"outputs in {report.out}")
    return 0


def _loss_and_args(run):
    from lectarch.inspect.programs import loss_fn
    from lectarch.train.step import step_key

    s = run.state
    return loss_fn(run), (s.params, s.rest, run.batch, step_key(s))


def _program_probe(run, report, label: str) -> None:
    from lectarch.inspect.program_grads import group_rows, loss_of, program_grads
    from lectarch.viz import gradflow_plots as plots

    loss, args = _loss_and_args(run)
    rows = program_grads(loss_of(loss), *args)
    report.table("program", [r.row() for r in rows])
    modules, primitives = group_rows(rows, "module"), group_rows(rows, "primitive")
    report.table("program_modules", modules)
    report.table("program_primitives", primitives)
    report.figure("program", plots.program_grads_figure(rows, f"||dL/dv|| for every intermediate v, {label}"))
    print(f"{len(rows)} intermediate values; ||dL/dv|| by module (root-sum-square, max, min):")
    for g in modules:
        print(f"  {g['module']:<36} {g['values']:5d} values  {g['grad_norm_rss']:11.4e} "
              f"{g['grad_norm_max']:11.4e} {g['grad_norm_min']:11.4e}")


def _nan_probe(run, report) -> None:
    from lectarch.inspect.backward_nan import locate_nonfinite

    loss, args = _loss_and_args(run)
    found = locate_nonfinite(loss, *args)
    path = found.write(report.out / "nan.txt")
    print(found.line())
    print(f"report: {path}")
