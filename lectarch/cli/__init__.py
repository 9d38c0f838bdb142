"""``lectarch COMMAND ...``: a thin command line over the library.

Each command is a module ``lectarch/cli/<name>.py`` registered in ``COMMANDS`` that exposes
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args, overrides) -> int`` (an exit code);
``overrides`` are the ``--config.KEY=VALUE`` arguments. A bad flag (checked by the ``type=``
functions of ``lectarch.cli.args``) is one line and exit 2; every other failure a user can fix (a
``ConfigError``, an ``OSError``, an error in the user's own config, space or plug-in file, XLA out
of memory, Ctrl-C) becomes one line and a documented exit code in one place,
``lectarch.cli.errors``, with no traceback. ``lectarch --debug COMMAND ...`` (or ``--debug``
anywhere) prints the full traceback as well.
"""

import argparse
import difflib
import importlib
import sys


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
    "average": "lectarch.cli.average",
    "doctor": "lectarch.cli.doctor",
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


def main(argv: list[str] | None = None) -> int:
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
    from lectarch import runtime  # imported here: `--help` and a mistyped command need neither it nor JAX
    from lectarch.cli import errors

    runtime.configure()  # before the command imports JAX, as in notebooks and the bench: CPU settings, compilation cache
    parsed = {}
    try:
        module = importlib.import_module(COMMANDS[name])  # only the chosen command is imported
        parser = _Parser(prog=f"lectarch {name}", description=module.HELP)
        parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
        module.add_arguments(parser)
        rest, overrides = _split_overrides(argv[1:])
        args = parser.parse_args(rest)
        args.command = name
        parsed.update(args=args, overrides=overrides)
        return int(module.run(args, overrides) or 0)
    except (Exception, KeyboardInterrupt) as e:  # one line and an exit code (lectarch.cli.errors), or a bug's traceback
        return errors.report(name, e, debug, size_keys=lambda: _size_keys(**parsed))


def _size_keys(args=None, overrides=()) -> dict:
    """The config values that size the command's step (named when it runs out of memory)."""
    from lectarch.experiment import config_of
    from lectarch.train.memory import size_keys

    return size_keys(config_of(getattr(args, "config", ""), getattr(args, "workdir", ""), overrides))


def entry() -> None:
    try:
        code = main()
    except KeyboardInterrupt:  # Ctrl-C before a command started
        print("\nlectarch: interrupted (Ctrl-C)", file=sys.stderr)
        from lectarch.cli import errors

        code = errors.INTERRUPTED
    sys.exit(code)
