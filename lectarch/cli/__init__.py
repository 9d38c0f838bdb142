"""``lectarch COMMAND ...``: a thin command line over the library.

Each command is a module ``lectarch/cli/<name>.py`` registered in ``COMMANDS`` that exposes
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args, overrides) -> int`` (an exit code);
``overrides`` are the ``--config.KEY=VALUE`` arguments. A ``ConfigError`` anywhere becomes a
one-line message and exit code 2, with no traceback.
"""

import argparse
import importlib
import sys

from lectarch.config import ConfigError

# Add one line per command.
COMMANDS = {
    "train": "lectarch.cli.train",
}


def _split_overrides(argv: list[str]) -> tuple[list[str], list[str]]:
    rest, overrides = [], []
    for a in argv:
        (overrides if a.startswith("--config.") else rest).append(a)
    return rest, [o.removeprefix("--config.") for o in overrides]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="lectarch", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name, path in COMMANDS.items():
        module = importlib.import_module(path)
        modules[name] = module
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
    rest, overrides = _split_overrides(argv)
    args = parser.parse_args(rest)
    try:
        return int(modules[args.command].run(args, overrides) or 0)
    except ConfigError as e:
        print(f"lectarch {args.command}: error: {e}", file=sys.stderr)
        return 2


def entry() -> None:
    sys.exit(main())
