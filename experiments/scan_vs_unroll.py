"""Scan vs unroll: jaxpr size, compile time and step time of an LSTM training step against T.

    python -m experiments.scan_vs_unroll --workdir runs/scan_vs_unroll [--lengths 10,20,40,100,300,1000]
        [--unroll-max 40] [--hidden 64] [--batch 16] [--repeats 10] [--cell lstm|rnn]

For each T: one SGD step of an LSTM layer (peepholes, hidden 64, batch 16, 8 input features, a
squared-error readout of every output) written with ``lax.scan`` and with a Python loop
(``lectarch.models.scan.python_unroll``); the loop only up to ``--unroll-max`` (its compile time
grows faster than linearly with T: about 3.5 minutes at T=40 on the 2-core CPU; the whole default
run takes about 7 minutes there). Writes its table to
experiments/results/inspect/scan_vs_unroll/scan_vs_unroll.md (``--results``), and ``scan_vs_unroll.png``,
``.csv``/``.json`` and a TensorBoard image into the workdir, and prints the table.
"""

import argparse
import pathlib

from lectarch.inspect.report import Report
from lectarch.inspect.scan_vs_unroll import format_table, measure
from lectarch.models.cells import ElmanCell, LSTMCell
from lectarch.viz.gradflow_plots import scan_vs_unroll_figure
from experiments.results_file import Measurement, write_results

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "inspect" / "scan_vs_unroll" / "scan_vs_unroll.md"


def results_table(rows: list[dict]) -> str:
    """The Markdown table of the measured rows: jaxpr size, trace + lower, compile and step time."""
    lines = ["| impl | T | jaxpr equations | trace + lower (s) | compile (s) | step (ms) |", "|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["impl"], int(r["T"]))):
        step = "-" if r.get("step_ms") in (None, "") else f"{float(r['step_ms']):.3g}"
        lines.append(f"| {r['impl']} | {r['T']} | {r['jaxpr_equations']} | {float(r['trace_lower_s']):.2f} "
                     f"| {float(r['compile_s']):.2f} | {step} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", required=True)
    p.add_argument("--lengths", default="10,20,40,100,300,1000")
    p.add_argument("--unroll-max", type=int, default=40, help="longest T for the Python-loop unroll")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--cell", default="lstm", choices=("lstm", "rnn"))
    p.add_argument("--results", default=str(RESULTS), help="the Markdown results file to write")
    args = p.parse_args(argv)
    measurement = Measurement()
    cell = LSTMCell(args.hidden) if args.cell == "lstm" else ElmanCell(args.hidden)
    rows = []
    for T in (int(t) for t in args.lengths.split(",")):
        for impl in ("scan", "unroll"):
            if impl == "unroll" and T > args.unroll_max:
                continue
            rows.append(measure(cell, impl, T, batch=args.batch, repeats=args.repeats))
            print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    report = Report(args.workdir)
    report.table("scan_vs_unroll", rows)
    title = f"{args.cell.upper()} (hidden {args.hidden}, batch {args.batch}): one SGD step, lax.scan vs Python loop"
    report.figure("scan_vs_unroll", scan_vs_unroll_figure(rows, title))
    report.close()
    write_results(args.results, title, results_table(rows), measurement)
    print(format_table(rows))
    print(f"outputs in {args.workdir}")
    return 0


if __name__ == "__main__":
    from experiments.script import run_script

    run_script(main, "python -m experiments.scan_vs_unroll")
