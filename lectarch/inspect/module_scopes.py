"""Name each equation of a traced model after the module that computed it.

Flax NNX does not name the scopes of its modules, so a jaxpr of a model says which primitive ran
and where in the source, but not in which layer. Inside ``module_scopes()``, every call of an
``nnx.Module`` subclass (built-in or a plug-in's: any class defined when the block starts) runs in
``jax.named_scope(<its path in the model>)``, e.g. ``hidden.3`` or ``stack.forward.0``; the
outermost module called is the root and has no name. An equation's ``source_info.name_stack`` then
ends with the path of the innermost module it was computed in (``lectarch.inspect.jaxpr_sites``).
"""

import contextlib
import functools

import jax
from flax import nnx


def _subclasses(cls) -> list[type]:
    seen, todo = [], [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.append(sub)
                todo.append(sub)
    return seen


def module_paths(root: nnx.Module) -> dict[int, str]:
    """``id(module) -> "a.b.0"`` for every submodule of ``root`` (the root itself: "")."""
    return {id(m): ".".join(str(k) for k in path) for path, m in nnx.iter_graph(root) if isinstance(m, nnx.Module)}


@contextlib.contextmanager
def module_scopes():
    """While tracing inside this block, each module call opens a named scope with its path."""
    state: dict = {"paths": None}

    def wrap(call):
        @functools.wraps(call)
        def scoped(self, *args, **kwargs):
            root = state["paths"] is None
            if root:
                state["paths"] = module_paths(self)
            try:
                name = state["paths"].get(id(self), "")
                with jax.named_scope(name) if name else contextlib.nullcontext():
                    return call(self, *args, **kwargs)
            finally:
                if root:
                    state["paths"] = None

        return scoped

    originals = {cls: vars(cls)["__call__"] for cls in _subclasses(nnx.Module) if "__call__" in vars(cls)}
    for cls, call in originals.items():
        type.__setattr__(cls, "__call__", wrap(call))
    try:
        yield
    finally:
        for cls, call in originals.items():
            type.__setattr__(cls, "__call__", call)
