"""Training progress on stderr: a live bar on a terminal, plain lines in a log file.

On a terminal (``stderr.isatty()``) it is a tqdm bar. Anywhere else (a batch job, a SLURM log, a
pipe) carriage returns would pile up into one unreadable line, so it prints one plain line every
``every_s`` seconds instead, and one at the end::

    step 1200/5000  loss 0.4132  31.6 steps/s  ETA 2m00s
"""

import sys
import time
from typing import TextIO


def format_eta(seconds: float) -> str:
    s = max(int(round(seconds)), 0)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class PlainProgress:
    """One line per ``every_s`` seconds: step, last logged loss, steps/s since the last line, ETA."""

    def __init__(self, total: int, initial: int = 0, *, every_s: float = 30.0, file: TextIO = sys.stderr,
                 clock=time.monotonic):
        self.total, self.step, self.every_s, self.file, self.clock = total, initial, every_s, file, clock
        self.loss: str | None = None
        self._t_line, self._s_line = clock(), initial

    def update(self, n: int = 1) -> None:
        self.step += n
        if self.clock() - self._t_line >= self.every_s:
            self._line()

    def set_postfix(self, loss: str | None = None, refresh: bool = False) -> None:
        self.loss = loss

    def line(self, now: float) -> str:
        rate = (self.step - self._s_line) / max(now - self._t_line, 1e-9)
        parts = [f"step {self.step}/{self.total}"]
        if self.loss is not None:
            parts.append(f"loss {self.loss}")
        parts.append(f"{rate:.1f} steps/s")
        if rate > 0 and self.step < self.total:
            parts.append(f"ETA {format_eta((self.total - self.step) / rate)}")
        return "  ".join(parts)

    def _line(self) -> None:
        now = self.clock()
        print(self.line(now), file=self.file, flush=True)
        self._t_line, self._s_line = now, self.step

    def close(self) -> None:
        if self.step > self._s_line:
            self._line()


class NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, loss: str | None = None, refresh: bool = False) -> None:
        pass

    def close(self) -> None:
        pass


def make_progress(total: int, initial: int, *, enabled: bool, every_s: float, file: TextIO = sys.stderr):
    """A tqdm bar when ``file`` is a terminal, plain lines otherwise, nothing when not ``enabled``."""
    if not enabled:
        return NoProgress()
    if file.isatty():
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, file=file, mininterval=0.5)
    return PlainProgress(total, initial, every_s=every_s, file=file)


__all__ = ["NoProgress", "PlainProgress", "format_eta", "make_progress"]
