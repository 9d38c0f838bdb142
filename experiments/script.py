"""How an experiment script ends, as lectarch's commands end (``lectarch.cli.errors``): a user's
error (a bad flag or config override, a file that cannot be written) is one line and exit 2, Ctrl-C is
one line and exit 130, and a bug in lectarch keeps its traceback. ``--debug`` anywhere among the
arguments prints the traceback before the line."""

import pathlib
import sys
import traceback
from collections.abc import Callable

from lectarch.cli.errors import INTERRUPTED, one_line
from lectarch.config.user_code import user_frames, where

EXPERIMENTS = pathlib.Path(__file__).resolve().parent


def _in_the_scripts(e: BaseException) -> bool:
    """An error raised in the experiments' own code: a bug, as one in lectarch is (not the user's file)."""
    frames = user_frames(e)
    return bool(frames) and all(pathlib.Path(f.filename).resolve().is_relative_to(EXPERIMENTS) for f in frames)


def run_script(main: Callable[[], int | None], prog: str) -> None:
    """``sys.exit(main())``, with the failure as one line headed by ``prog``."""
    try:
        code = main()
    except (SystemExit, GeneratorExit):
        raise
    except BaseException as e:  # noqa: BLE001 - sorted into the user's errors and lectarch's bugs below
        found = one_line(e)
        if found is None or (found[0] == where(e) and _in_the_scripts(e)):
            raise
        message, code = found
        if "--debug" in sys.argv[1:]:
            traceback.print_exception(e)
        print(f"\n{prog}: {message}" if code == INTERRUPTED else f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(code)
