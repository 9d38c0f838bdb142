"""A stop request every process of a run agrees on: SIGTERM or SIGINT, then a save at one step.

The training loop asks ``stop.requested(step)`` once per step, before the step. After a SIGTERM or
SIGINT reaches any one process, it returns True on the same ``step`` in every process, so all of
them save that step (once, together) and leave the loop; the run's status is ``interrupted`` and
it resumes exactly from that step.

- One process: the signal handler sets a flag that ``requested`` reads.
- Several processes (``jax.distributed``): JAX's preemption sync manager. Its notifier catches
  SIGTERM in any one process and tells the coordination service; in the background every process
  then reports how many times it has called ``requested``, and they agree on the call after the
  largest (``jax.experimental.multihost_utils.reached_preemption_sync_point``). SIGINT is turned
  into a SIGTERM to this process, so Ctrl-C works the same way. A step where nothing happened
  costs a lock in this process and no message to the others. The calls are counted from 1 (not by
  step number), so a notice that arrives before training starts stops the run at its first step.

The handlers are installed by the first ``requested`` call and a signal removes them again, so
before training starts (building, restoring, a long first compile) and on a second signal each
signal does what it does by default: SIGTERM ends the process at once and SIGINT raises
``KeyboardInterrupt``. A run stuck in a long compile or a huge evaluation still ends when asked twice.
In a multi-process run JAX's notifier holds SIGTERM from ``jax.distributed.initialize`` on: a SIGTERM
before training starts stops the run at its first step, and a second one changes nothing (SIGKILL,
or a second Ctrl-C, ends a process at once).
"""

import os
import signal
import sys

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _multihost_sync_available() -> bool:
    """A multi-process runtime with JAX's preemption sync manager running."""
    if "jax" not in sys.modules:
        return False
    import jax
    from jax._src import distributed

    return jax.process_count() > 1 and distributed.global_state.preemption_sync_manager is not None


class StopRequest:
    """Context manager around the training loop; restores the previous signal handlers on exit.

    ``requested(step)``: True when every process should save ``step`` and stop.
    ``signal_name``: the signal that asked (``"SIGTERM"`` in the processes a multi-process run told).
    """

    def __init__(self, multihost: bool | None = None):
        self._multihost = multihost
        self.signal_name: str | None = None
        self._calls = 0
        self._old: dict = {}

    def __enter__(self) -> "StopRequest":
        if self._multihost is None:
            self._multihost = _multihost_sync_available()
        return self

    def __exit__(self, *exc) -> None:
        self._restore()

    def _install(self) -> None:
        # With JAX's notifier SIGTERM stays with it (its own C++ handler); only SIGINT is ours.
        for sig in (signal.SIGINT,) if self._multihost else SIGNALS:
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not in the main thread: signals stay as they are
                pass

    def _restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        self._old = {}

    def _handle(self, signum: int, frame) -> None:
        self.signal_name = signal.Signals(signum).name
        self._restore()  # a second signal acts at once
        os.write(2, f"lectarch: {self.signal_name} received: the run saves a checkpoint after this step and "
                    f"stops (send it again to stop now, without saving)\n".encode())  # no buffered I/O in a handler
        if self._multihost:
            os.kill(os.getpid(), signal.SIGTERM)  # to JAX's notifier, which tells the other processes

    def requested(self, step: int) -> bool:
        """Call once per step, before it, with the number of steps done; True: save ``step`` and stop."""
        self._calls += 1
        if self._calls == 1:
            self._install()
        if not self._multihost:
            return self.signal_name is not None
        from jax.experimental import multihost_utils

        if multihost_utils.reached_preemption_sync_point(self._calls):
            self.signal_name = self.signal_name or "SIGTERM"
            return True
        return False


__all__ = ["SIGNALS", "StopRequest"]
