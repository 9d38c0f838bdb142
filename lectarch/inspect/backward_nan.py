"""Where a non-finite value enters the backward pass: the equation, its module and its source line.

Backpropagation visits the equations of the forward program in reverse. Each equation turns the
cotangents of its outputs into cotangents of its inputs; when those are finite and one of the
inputs' is not (sqrt or log at 0, 0 * inf, a division by 0 in a derivative rule), the NaN or inf
enters there. ``lectarch.inspect.jaxpr_sites`` adds a zero to every input of every equation (inside
a ``scan``, one per step), so the gradient with respect to each zero is that equation's own
contribution to the cotangent of that input, for all of them in one backward pass. The entry point
is the non-finite one that backpropagation computes first: the latest in forward order.

When the loss itself is non-finite, the report names instead the first equation, in forward order,
whose output is non-finite.

    report = locate_nonfinite(loss_fn, params, rest, batch, key)   # loss_fn: lectarch.train.step.make_loss_fn
    print(report.line()); report.write(workdir / "nonfinite.txt")
"""

import dataclasses
import pathlib
from collections.abc import Callable

import numpy as np

from lectarch.inspect.jaxpr_sites import Site, pick, sites
from lectarch.inspect.program_grads import loss_of, site_cotangents, trace

TRAIL = 40  # sites listed in the full report


@dataclasses.dataclass
class Found:
    site: Site
    t: tuple[int, ...]  # the step in each enclosing scan (0-based)

    def where(self) -> str:
        s = self.site
        steps = "".join(f", step t={t + 1} of {T}" for t, T in zip(self.t, s.steps))
        return f"`{s.primitive}` in module {s.module or '(root)'} at {s.line}{steps}"


@dataclasses.dataclass
class NanReport:
    phase: str  # "backward", "forward" (the loss is non-finite) or "finite" (nothing found)
    loss: float
    trail: list[Found]  # the non-finite sites, the entry point first (backward order; forward for "forward")

    @property
    def found(self) -> Found | None:
        return self.trail[0] if self.trail else None

    def line(self) -> str:
        if self.phase == "backward":
            f = self.found
            return (f"the gradient turns non-finite in the backward pass of {f.where()} "
                    f"(input {f.site.key[-1][1:]}, shape {_shape(f.site)})")
        if self.phase == "forward":
            return f"the loss is {self.loss}: the first non-finite value of the forward pass comes from {self.found.where()}"
        masked = f" ({len(self.trail)} non-finite cotangents were zeroed on the way, e.g. at {self.trail[0].where()})" if self.trail else ""
        return f"the loss and the gradient are finite at these parameters and this batch{masked}"

    def text(self) -> str:
        lines = [self.line(), "", f"loss = {self.loss!r}", ""]
        if self.trail:
            order = "backward" if self.phase == "backward" else "forward"
            lines.append(f"non-finite {'cotangents' if order == 'backward' else 'values'}, in {order} order "
                         f"(first {min(len(self.trail), TRAIL)}):")
            for f in self.trail[:TRAIL]:
                lines.append(f"  {f.where()}  [{'input' if order == 'backward' else 'output'} "
                             f"{f.site.key[-1][1:]}, shape {_shape(f.site)}, name stack {f.site.name_stack or '-'}]")
        return "\n".join(lines) + "\n"

    def write(self, path: str | pathlib.Path) -> pathlib.Path:
        path = pathlib.Path(path)
        path.write_text(self.text())
        return path


def _shape(site: Site) -> str:
    return "x".join(map(str, site.shape)) or "scalar"


def _bad_steps(finite, site: Site) -> list[tuple[int, ...]]:
    bad = ~np.asarray(finite, bool).reshape(site.steps)
    return [tuple(int(i) for i in idx) for idx in np.argwhere(bad)]


def locate(fn: Callable, *args) -> NanReport:
    """The report for the scalar function ``fn(*args)`` (one compiled program, one backward pass)."""
    traced = trace(fn, *args)
    input_sites, out = site_cotangents(traced, "inputs")
    loss = float(out["loss"])
    if not np.isfinite(loss):
        found = [(s.forward_position(t), n, Found(s, t))
                 for n, s in enumerate(sites(traced.closed.jaxpr, "outputs"))
                 for t in _bad_steps(pick(out["facts"], s)["finite"], s)]
        return NanReport("forward", loss, [f for *_, f in sorted(found, key=lambda x: x[:2])])
    bad = {s.key: set(_bad_steps(finite, s)) for s, finite in zip(input_sites, out["grad_finite"])}
    by_eqn: dict[tuple, list[Site]] = {}
    for s in input_sites:
        by_eqn.setdefault(s.key[:-1], []).append(s)
    live = _live(bad, by_eqn)
    found = sorted(((s.forward_position(t), n, live(s, t), Found(s, t))
                    for n, s in enumerate(input_sites) for t in bad[s.key]), key=lambda x: x[:2], reverse=True)
    if bool(out["args_finite"]):
        return NanReport("finite", loss, [f for *_, f in found])
    entry = [f for *_, is_live, f in found if is_live][:1]  # the latest one that reaches the parameters
    return NanReport("backward", loss, entry + [f for *_, f in found if f not in entry])


def _live(bad: dict, by_eqn: dict):
    """Whether a site's non-finite cotangent goes on backwards: the equation that computed its input
    (in the same jaxpr, same step) passes a non-finite cotangent on, recursively. A select (the
    derivative of ``jax.nn.relu`` at x < 0) can zero an infinite cotangent; that one is not live."""
    memo: dict = {}

    def live(site: Site, t: tuple) -> bool:
        if t not in bad[site.key]:
            return False
        if site.producer is None:  # a jaxpr input (a parameter, a carry) or a sub-program's output
            return True
        if (site.key, t) not in memo:
            memo[site.key, t] = False  # no cycles in a jaxpr; guards the recursion anyway
            memo[site.key, t] = any(live(s, t) for s in by_eqn.get(site.producer, []))
        return memo[site.key, t]

    return live


def locate_nonfinite(loss_fn: Callable, params, rest, batch: dict, key, train: bool = True) -> NanReport:
    """The report for the trainer's ``loss_fn(params, rest, batch, key, train)`` (``make_loss_fn``)."""
    return locate(loss_of(loss_fn, train), params, rest, batch, key)


def explain_nonfinite(run, state, bad_index: int, workdir: str | pathlib.Path) -> str:
    """For the trainer's non-finite stop (``lectarch train``): locate where the NaN of step
    ``bad_index + 1`` (0-based ``bad_index``, as ``state.nonfinite_step`` holds it) entered, from the
    frozen ``state`` (the last good parameters), that step's batch (the data position is the step)
    and its key; write the full report to ``workdir/nonfinite.txt`` and return its one line."""
    import jax

    from lectarch.data import pipeline
    from lectarch.train.step import make_loss_fn

    host = jax.device_get(state)
    batch = pipeline.train_batch_at(run.dataset, batch_size=run.cfg.batch_size, seed=run.cfg.seed, step=bad_index)
    key = jax.random.fold_in(host.key, bad_index)
    report = locate_nonfinite(make_loss_fn(run.graphdef, run.objective), host.params, host.rest, batch, key)
    path = report.write(pathlib.Path(workdir) / "nonfinite.txt")
    return f"{report.line()} (full report: {path})"
