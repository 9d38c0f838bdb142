"""How a command's failure becomes one line on stderr and an exit code: the rule, written once.

    ConfigError: a bad config value, flag, config file or plug-in     exit 2, its message
    OSError: a file that cannot be read or written                     exit 2, PATH: cause
    no usable /dev/shm (a semaphore that cannot be made)               exit 2, naming /dev/shm
    an exception raised in the user's own file (config, plug-in)       exit 2, FILE:LINE: Type: message
    a key the config lacks (cfg.clip.global_norm, no global_norm)      exit 2, the key and who reads it
    XLA out of memory (RESOURCE_EXHAUSTED)                             exit 2, the config keys that size it
    a backend that cannot start (JAX_PLATFORMS=tpu without a TPU)      exit 2, naming JAX_PLATFORMS
    Ctrl-C (KeyboardInterrupt)                                         exit 130

A config or plug-in file that calls ``sys.exit`` is a ``ConfigError`` naming it
(``lectarch.config.user_code``). Anything else is a bug in lectarch and keeps its traceback.
``--debug`` prints the traceback of every error, before the line.
"""

import sys
import traceback
from collections.abc import Callable

from lectarch.config import ConfigError
from lectarch.config.errors import missing_config_key
from lectarch.config.user_code import user_frames, where

INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a process ended by Ctrl-C
USAGE = 2


def _describe_os_error(e: OSError) -> str:
    from lectarch.train.workdir import describe_os_error

    return describe_os_error(e)


def _from_shared_memory(e: BaseException) -> bool:
    """Whether ``e`` (or the error it wraps) came from making a semaphore in ``/dev/shm`` (a
    ``multiprocessing`` lock), whatever path a caller attached to it."""
    while e is not None:
        if any(f.filename.endswith(("multiprocessing/synchronize.py", "multiprocessing\\synchronize.py"))
               for f in traceback.extract_tb(e.__traceback__)):
            return True
        e = e.__cause__ or e.__context__
    return False


def _is_out_of_memory(e: BaseException) -> bool:
    text = str(e)
    return type(e).__name__ in ("XlaRuntimeError", "JaxRuntimeError") and (
        "RESOURCE_EXHAUSTED" in text or "Out of memory" in text)


def _is_backend_failure(e: BaseException) -> bool:
    return isinstance(e, RuntimeError) and "Unable to initialize backend" in str(e)


def _first_line(e: BaseException) -> str:
    return next((line.strip() for line in str(e).splitlines() if line.strip()), type(e).__name__)


def one_line(e: BaseException, size_keys: Callable[[], dict] = dict) -> tuple[str, int] | None:
    """(message, exit code) for an error a user can fix; ``None`` for a bug in lectarch.

    ``size_keys()`` names the config values that size the step (asked only for out-of-memory).
    """
    if isinstance(e, KeyboardInterrupt):
        return "interrupted (Ctrl-C)", INTERRUPTED
    if isinstance(e, ConfigError):
        return str(e), USAGE
    if isinstance(e, OSError) and _from_shared_memory(e):
        return (f"POSIX shared memory (/dev/shm) cannot be used: {e.strerror or e}; TensorBoard's event writer and "
                f"data workers need a writable /dev/shm (in a container: --shm-size, or mount a tmpfs there)"), USAGE
    if isinstance(e, OSError):
        return _describe_os_error(e), USAGE
    if isinstance(e, UnicodeError) and getattr(e, "object", None) is not None:
        return (f"{_first_line(e)}: a path or text with non-ASCII characters under an ASCII locale; "
                f"set LC_ALL=C.UTF-8 (or another UTF-8 locale) or choose an ASCII path"), USAGE
    if _is_out_of_memory(e):
        try:
            keys = size_keys()
        except Exception:  # noqa: BLE001 - the config itself may be what failed; the message stands without it
            keys = {}
        drivers = ", ".join(f"config.{k}={v!r}" for k, v in keys.items()) or "config.batch_size and the model's sizes"
        return (f"out of memory ({_first_line(e)[:200].rstrip('.')}): the model or its step does not fit this "
                f"machine; reduce {drivers}", USAGE)
    if _is_backend_failure(e):
        return f"{_first_line(e)} (the JAX_PLATFORMS environment variable names the backends JAX may use)", USAGE
    if user_frames(e):
        return where(e), USAGE
    missing = missing_config_key(e)
    if missing is not None:
        return (f"the config has no key {missing!r}, which {_reader(e)} reads; start the config (and each of its "
                f"groups) from lectarch.config.base_config()"), USAGE
    return None


def _reader(e: BaseException) -> str:
    """``file:line`` of the innermost lectarch frame of ``e`` (the code that read the config)."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if "ml_collections" not in f.filename]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "lectarch"


def report(command: str, e: BaseException, debug: bool, size_keys: Callable[[], dict] = dict) -> int:
    """Print ``e`` as ``lectarch COMMAND: error: ...`` and return its exit code; re-raise a bug."""
    found = one_line(e, size_keys)
    if found is None:
        raise e
    message, code = found
    if debug:
        traceback.print_exception(e)
    if code == INTERRUPTED:
        print(f"\nlectarch {command}: {message}", file=sys.stderr)
        return code
    print(f"lectarch {command}: error: {message}", file=sys.stderr)
    if "\n" in message and not debug:
        print("(run with --debug for the full traceback)", file=sys.stderr)
    return code


__all__ = ["INTERRUPTED", "USAGE", "one_line", "report"]
