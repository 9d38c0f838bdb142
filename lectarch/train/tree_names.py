"""One way to name a leaf of a parameter tree: its key path as ``hidden.0.kernel``.

The gradient norms in a step's metrics, the gradient-flow tables and the checkpoint's shape report all
name parameters with ``path_name``, so one parameter reads the same in every output.
"""

from collections.abc import Sequence


def key_name(k) -> str:
    """One key of a path (a dict key, a sequence index, an attribute name) as text."""
    for attr in ("key", "name", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def path_names(path: Sequence, keep_value: bool = False) -> list[str]:
    """The path's keys as text; nnx's ``value`` wrapper key is left out unless ``keep_value``."""
    names = [key_name(k) for k in path]
    return names if keep_value else [n for n in names if n != "value"]


def path_name(path: Sequence, keep_value: bool = False) -> str:
    """``hidden.0.kernel`` for the path of that parameter."""
    return ".".join(path_names(path, keep_value))


__all__ = ["key_name", "path_name", "path_names"]
