"""A per-layer summary of an experiment's model: each module that owns parameters, its type, the
shapes of its parameters and their count, and the total, from abstract shapes (nothing is
initialised or run). FLOPs per call come from Flax NNX's ``nnx.tabulate`` where it can trace the
model; where it cannot, the summary says why and still lists every parameter.
"""

import dataclasses
import math

import jax
import numpy as np
from flax import nnx

from lectarch.train.run import Run


@dataclasses.dataclass(frozen=True)
class LayerRow:
    path: str  # e.g. "hidden/0": the module's place in the model
    type: str  # the module's class name
    shapes: dict[str, tuple[int, ...]]  # its own parameters (not those of its sub-modules)

    @property
    def count(self) -> int:
        return sum(math.prod(s) for s in self.shapes.values())


def abstract_model(run: Run) -> nnx.Module:
    return nnx.merge(run.graphdef, run.state.params, run.state.rest)


def _path(keys) -> str:
    return "/".join(str(k) for k in keys)


def layer_rows(model: nnx.Module) -> list[LayerRow]:
    """One row per node that holds parameters directly, in the model's graph order."""
    nodes = {tuple(path): node for path, node in nnx.iter_graph(model)}
    owners: dict[tuple, dict[str, tuple[int, ...]]] = {}
    for path, node in nnx.iter_graph(model):
        if isinstance(node, nnx.Param):
            owners.setdefault(tuple(path[:-1]), {})[str(path[-1])] = tuple(np.shape(node.get_value()))
    return [LayerRow(_path(p) or "(model)", type(nodes[p]).__name__, shapes) for p, shapes in owners.items()]


def format_rows(rows: list[LayerRow]) -> str:
    shapes = lambda r: ", ".join(f"{k} {list(v)}" for k, v in r.shapes.items())  # noqa: E731
    header = ("path", "type", "parameter shapes", "parameters")
    table = [header] + [(r.path, r.type, shapes(r), f"{r.count:,}") for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d:>12}" for a, b, c, d in table]
    lines.insert(1, "-" * len(lines[0]))
    lines.append(f"total parameters: {sum(r.count for r in rows):,}")
    return "\n".join(lines)


def flops_table(run: Run, width: int = 160) -> str:
    """``nnx.tabulate``'s table with a per-call FLOPs column, traced abstractly (batch of the run).

    Raises whatever ``nnx.tabulate`` raises on a model it cannot trace."""
    out = {}

    def tabulate(params, rest, inputs):
        model = nnx.merge(run.graphdef, params, rest)
        out["table"] = nnx.tabulate(model, inputs, train=False, compute_flops=True, depth=2,
                                    console_kwargs={"force_terminal": False, "width": width})

    s = run.state
    jax.eval_shape(tabulate, s.params, s.rest, run.batch["inputs"])
    return out["table"]


def why_no_flops(error: Exception) -> str:
    """One whole sentence for a model ``nnx.tabulate`` cannot trace: what failed and where to look."""
    first = " ".join(str(error).split())
    cut = first if len(first) <= 160 else first[:160].rsplit(" ", 1)[0] + " ..."
    return (f"FLOPs per layer: not available, because nnx.tabulate could not trace this model "
            f"({type(error).__name__}: {cut}); the parameter table above is complete, and "
            f"`lectarch inspect --what forward` gives the whole forward pass's FLOPs.")


__all__ = ["LayerRow", "abstract_model", "flops_table", "format_rows", "layer_rows", "why_no_flops"]
