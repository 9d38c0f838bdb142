"""A ``jax.profiler`` trace of a few training steps, for TensorBoard's profile plugin (XProf) and Perfetto.

``config.profile.steps = N`` (0: off) traces the train steps ``start + 1 .. start + N`` (the step
numbers of ``metrics.jsonl``) into ``DIR/profile/plugins/profile/<time>/``: an ``.xplane.pb`` for
XProf and a ``perfetto_trace.json.gz`` for https://ui.perfetto.dev. Tracing only watches: the
trace ends after the traced steps' results are ready, and no computed value changes.
"""

import pathlib

import jax


class StepProfiler:
    """``before(step)`` ahead of each train step, ``after(step, outputs)`` after it, ``close()`` at the end."""

    def __init__(self, directory: pathlib.Path, start: int, steps: int, *, active: bool = True):
        self.directory, self.first, self.last = directory, start, start + steps
        self.enabled = steps > 0 and active
        self.tracing = False

    def before(self, step: int) -> None:
        """``step`` is the number of steps done so far; the next one is ``step + 1``."""
        if self.enabled and not self.tracing and self.first <= step < self.last:
            self.directory.mkdir(parents=True, exist_ok=True)
            jax.profiler.start_trace(str(self.directory), create_perfetto_trace=True)
            self.tracing = True

    def after(self, step: int, outputs) -> None:
        if self.tracing and step >= self.last:
            self.stop(outputs)

    def stop(self, outputs=None) -> None:
        if self.tracing:
            jax.block_until_ready(outputs)  # the traced steps' device work ends inside the trace
            jax.profiler.stop_trace()
            self.tracing = False
            self.enabled = False

    close = stop


def trace_files(directory: pathlib.Path) -> list[pathlib.Path]:
    """The ``.xplane.pb`` and ``perfetto_trace.json.gz`` files written under ``directory``."""
    return sorted([*directory.glob("plugins/profile/*/*.xplane.pb"),
                   *directory.glob("plugins/profile/*/perfetto_trace.json.gz")])


__all__ = ["StepProfiler", "trace_files"]
