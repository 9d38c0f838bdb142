"""``lectarch COMMAND ...``: a thin command line over the library.

Each command is a module ``lectarch/cli/<name>.py`` registered in ``COMMANDS`` that exposes
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args, overrides) -> int`` (an exit code);
``overrides`` are the ``--config.KEY=VALUE`` arguments. A bad flag (checked by the ``type=``
functions of ``lectarch.cli.args``), a ``ConfigError`` or an ``OSError`` (a file that cannot be
read or written: disk full, read-only file system) anywhere becomes a one-line message and exit
code 2, with no traceback; an error in the user's own config, space or plug-in file shows that
file's lines and the error in a few lines. ``lectarch --debug COMMAND ...`` (or ``--debug``
anywhere) prints the full traceback instead.
"""

import argparse
import difflib
import importlib
import sys
import traceback

from lectarch.config import ConfigError
from lectarch.train import xla_cpu
from lectarch.train.host_allocator import keep_freed_memory

# Add one line per command.
COMMANDS = {
    "train": "lectarch.cli.train",
    "visualize": "lectarch.cli.visualize",
    "decode": "lectarch.cli.decode",
    "inspect": "lectarch.cli.inspect",
    "gradflow": "lectarch.cli.gradflow",
    "receptive-field": "lectarch.cli.receptive_field",
    "conv-example": "lectarch.cli.conv_example",
    "sweep": "lectarch.cli.sweep",
}


def _split_overrides(argv: list[str]) -> tuple[list[str], list[str]]:
    rest, overrides = [], []
    for a in argv:
        (overrides if a.startswith("--config.") else rest).append(a)
    return rest, [o.removeprefix("--config.") for o in overrides]


def _help(modules: dict) -> str:
    lines = ["usage: lectarch COMMAND [options]   (lectarch COMMAND --help for a command's options)", "", "commands:"]
    for name, path in COMMANDS.items():
        try:
            text = importlib.import_module(path).HELP
        except Exception as e:  # noqa: BLE001 - one broken command must not hide the others
            text = f"(unavailable: {type(e).__name__}: {e})"
        lines.append(f"  {name:<18} {text}")
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """A bad flag is one line (not the usage block), exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help lists the options)\n")


def _describe(e: OSError) -> str:
    from lectarch.train.workdir import describe_os_error

    return describe_os_error(e)


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # before the first large allocation: XLA's per-step buffers stop page-faulting
    xla_cpu.apply()  # before JAX starts its CPU backend: convolutions on XLA's own kernels
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    if not argv or argv[0] in ("-h", "--help"):
        print(_help(COMMANDS))
        return 0 if argv else 2
    name = argv[0]
    if name not in COMMANDS:
        close = difflib.get_close_matches(name, list(COMMANDS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        print(f"lectarch: error: unknown command {name!r}{hint} (lectarch --help lists them)", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name])  # only the chosen command is imported
    parser = _Parser(prog=f"lectarch {name}", description=module.HELP)
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    module.add_arguments(parser)
    rest, overrides = _split_overrides(argv[1:])
    args = parser.parse_args(rest)
    args.command = name
    try:
        return int(module.run(args, overrides) or 0)
    except ConfigError as e:
        if debug:
            traceback.print_exception(e)
        print(f"lectarch {name}: error: {e}", file=sys.stderr)
        if "\n" in str(e) and not debug:
            print("(run with --debug for the full traceback)", file=sys.stderr)
        return 2
    except OSError as e:
        if debug:
            raise
        print(f"lectarch {name}: error: {_describe(e)}", file=sys.stderr)
        return 2


def entry() -> None:
    sys.exit(main())
