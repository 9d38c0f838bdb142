"""Running the user's own files (config files, space files, plug-in modules) with errors that
point at the user's file and line, not at lectarch's loader.

A syntax error, an exception in ``get_config()``, a failing import or a call of ``sys.exit`` becomes
a ``ConfigError`` whose message is the user's frames only (``file:line: code``) and the error; the
CLI prints it and exits 2, and ``lectarch --debug COMMAND ...`` prints the full traceback as well.
``user_frames(e)`` and ``where(e)`` are how any error is traced back to the user's file and line
(``lectarch.cli.errors`` uses them for an error raised in a plug-in while it runs).
"""

import importlib
import importlib.util
import os
import pathlib
import sys
import sysconfig
import traceback
import types
from collections.abc import Callable

from lectarch.config.errors import ConfigError

_PACKAGE_DIR = str(pathlib.Path(__file__).resolve().parent.parent)
# Frames that are not the user's: lectarch, the import machinery, the standard library, installed packages.
_NOT_USER_DIRS = tuple(sorted({str(pathlib.Path(d)) + os.sep for d in (
    _PACKAGE_DIR, *(sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")))}))
_NOT_USER_PARTS = ("<frozen ", "importlib/", "importlib\\")


def _is_user_file(filename: str) -> bool:
    return not filename.startswith(_NOT_USER_DIRS) and not any(s in filename for s in _NOT_USER_PARTS)


def user_frames(e: BaseException) -> list[traceback.FrameSummary]:
    """The frames of ``e``'s traceback in the user's own files (config, plug-in, space files)."""
    if isinstance(e, SyntaxError) and e.filename and _is_user_file(e.filename):
        return [traceback.FrameSummary(e.filename, e.lineno or 0, "<module>")]
    return [f for f in traceback.extract_tb(e.__traceback__) if _is_user_file(f.filename)]


def where(e: BaseException) -> str:
    """``file:line: Type: message``, at the innermost frame of ``e`` in the user's own files."""
    if isinstance(e, SyntaxError) and e.filename:
        return f"{e.filename}:{e.lineno}: SyntaxError: {e.msg}"
    frames = user_frames(e)
    at = f"{frames[-1].filename}:{frames[-1].lineno}: " if frames else ""
    return f"{at}{type(e).__name__}: {_first_line(e)}"


def describe(e: BaseException) -> str:
    """A few lines: the user's frames (file, line, code) and the error."""
    if isinstance(e, SyntaxError) and e.filename:
        code = (e.text or "").rstrip()
        return f"  {e.filename}, line {e.lineno}\n    {code.strip()}\n  SyntaxError: {e.msg}"
    lines = [f"  {f.filename}, line {f.lineno}, in {f.name}" + (f"\n    {f.line}" if f.line else "")
             for f in user_frames(e)[-4:]]
    return "\n".join([*lines, f"  {type(e).__name__}: {_first_line(e)}"])


def _first_line(e: BaseException) -> str:
    return str(e).splitlines()[0] if str(e) else ""


class UserCodeError(ConfigError):
    """The user's file failed; ``str()`` is a few lines, ``__cause__`` the original exception."""


def run_user_code(path: pathlib.Path, what: str, fn: Callable, *args):
    """``fn(*args)``; any exception but ``ConfigError`` becomes a ``UserCodeError`` about ``path``."""
    try:
        return fn(*args)
    except ConfigError:
        raise
    except SystemExit as e:  # a config must define its values, not end the program (exit 0 would hide it)
        raise UserCodeError(f"{what} {str(path)!r} called sys.exit({e.code!r}) at {_at(e)}; it must return, "
                            f"not exit") from None
    except Exception as e:  # noqa: BLE001 - the user's code failed: report their file and line
        raise UserCodeError(f"{what} {str(path)!r} failed:\n{describe(e)}") from e


def _at(e: BaseException) -> str:
    frames = user_frames(e)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"


def exec_file(path: pathlib.Path, prefix: str) -> types.ModuleType:
    """Execute the Python file ``path`` as a module (its folder importable, as for a script)."""
    add_import_path(str(path.resolve().parent))
    spec = importlib.util.spec_from_file_location(f"{prefix}{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    run_user_code(path, "loading", spec.loader.exec_module, module)
    return module


def add_import_path(folder: str) -> None:
    """Make the modules in ``folder`` importable (a config's folder, as Python does for a script)."""
    if folder and folder not in sys.path:
        sys.path.insert(0, folder)
        importlib.invalidate_caches()
