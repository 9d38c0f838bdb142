"""Where numbers go: ``metrics.jsonl`` (one JSON object per logged step and split), TensorBoard
event files and PNG pictures, all in the workdir, written by process 0 only.

A write that fails (disk full, read-only file system) raises ``OSError`` naming the file and the
cause, so the command ends with one line instead of a traceback. ``read_metrics`` reads what a
crash leaves: a truncated last line is skipped with a warning; any other unreadable line is an
error naming its number.
"""

import contextlib
import json
import math
import pathlib
import sys

import jax
import numpy as np

from lectarch.config.errors import ConfigError


class MetricsWriter:
    def __init__(self, workdir: str | pathlib.Path, *, resume_step: int = 0, tensorboard: bool = True):
        self.workdir = pathlib.Path(workdir)
        self.path = self.workdir / "metrics.jsonl"
        self.active = jax.process_index() == 0
        self.tb = None
        if not self.active:
            return
        self._truncate_after(resume_step)
        if tensorboard:
            from tensorboardX import SummaryWriter

            with naming_errors(self.workdir / "tensorboard"):
                self.tb = SummaryWriter(str(self.workdir / "tensorboard"),
                                        purge_step=resume_step + 1 if resume_step else None)

    def _truncate_after(self, step: int) -> None:
        """Drop records written after the checkpoint a resumed run restarts from (and a line cut by
        a crash), so the file reads as one uninterrupted run."""
        from lectarch.train.workdir import atomic_write_text

        if not self.path.exists():
            return
        keep = [r for r in read_metrics(self.workdir) if r["step"] <= step]
        with naming_errors(self.path):
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in keep))

    def write(self, step: int, split: str, scalars: dict[str, float]) -> None:
        if not self.active:
            return
        record = {"step": int(step), "split": split}
        record.update({k: plain(v) for k, v in scalars.items()})
        with naming_errors(self.path), self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            with naming_errors(self.workdir / "tensorboard"):
                for k, v in scalars.items():
                    if isinstance(v, (int, float)) and math.isfinite(v):
                        self.tb.add_scalar(f"{split}/{k}", v, step)
                self.tb.flush()  # a full disk shows here, not in tensorboardX's writer thread

    def histograms(self, step: int, arrays: dict[str, np.ndarray]) -> None:
        """TensorBoard histograms of ``arrays`` (e.g. ||dL/dh_t|| over t); nothing in metrics.jsonl."""
        if self.tb is None or not arrays:
            return
        with naming_errors(self.workdir / "tensorboard"):
            for name, values in arrays.items():
                values = np.asarray(values, np.float64)
                if values.size and np.all(np.isfinite(values)):
                    self.tb.add_histogram(name, values, step)
            self.tb.flush()

    def image(self, step: int, name: str, picture) -> pathlib.Path | None:
        """Draw ``picture`` (a ``lectarch.viz.picture.Picture``, or an HxW / HxWx3 image with values in
        [0, 1]) titled with ``step``; save it as a PNG and the same pixels as a TensorBoard image."""
        if not self.active:
            return None
        from lectarch.viz.render import rendered

        out = self.workdir / "pictures" / f"{name}_step{step}.png"
        rgb = rendered(name, picture, step)
        save_png(out, rgb)
        if self.tb is not None:
            with naming_errors(self.workdir / "tensorboard"):
                self.tb.add_image(name, rgb, step, dataformats="HWC")
        return out

    def close(self) -> None:
        if self.tb is not None:
            tb, self.tb = self.tb, None
            with naming_errors(self.workdir / "tensorboard"):
                tb.close()


@contextlib.contextmanager
def naming_errors(path: pathlib.Path):
    """Re-raise an ``OSError`` without a file name (a failed write or flush) as one naming ``path``."""
    try:
        yield
    except OSError as e:
        if e.filename is not None:
            raise
        raise OSError(e.errno, e.strerror or str(e) or type(e).__name__, str(path)) from e


def save_png(path: pathlib.Path, rgb: np.ndarray) -> None:
    """Write ``H x W x 3`` uint8 pixels (a rendered picture) as a PNG; an ``OSError`` names ``path``."""
    from lectarch.viz.render import save_rgb

    with naming_errors(path):
        save_rgb(path, rgb)


class MetricsFileError(ConfigError):
    """A ``metrics.jsonl`` line that cannot be read and is not a crash's cut-off last line."""


def parse_metrics(text: str, path: str = "metrics.jsonl") -> list[dict]:
    """The records of a ``metrics.jsonl`` text. A truncated last line (no newline at its end: a
    write cut by a crash) is skipped with a warning; another unreadable line is a
    ``MetricsFileError`` naming its line number."""
    lines = text.split("\n")
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not (isinstance(row, dict) and isinstance(row.get("step"), int) and "split" in row):
                raise ValueError("not a {\"step\": ..., \"split\": ...} record")
        except ValueError as e:
            if number == len(lines):  # the last line had no newline: a write cut short
                print(f"warning: {path}: skipping the truncated last line {number} (a write cut short, "
                      f"e.g. by a crash)", file=sys.stderr)
                continue
            raise MetricsFileError(f"{path}: line {number} is unreadable ({str(e).splitlines()[0][:100]}); "
                                   f"fix or delete that line") from None
        rows.append(row)
    return rows


def read_metrics(workdir: str | pathlib.Path, split: str | None = None) -> list[dict]:
    path = pathlib.Path(workdir) / "metrics.jsonl"
    rows = parse_metrics(path.read_text(errors="replace"), str(path))
    return [r for r in rows if split is None or r["split"] == split]


def plain(v):
    """A JSON-ready value: arrays and numpy scalars as Python lists and numbers; anything else as is."""
    if isinstance(v, (np.generic, np.ndarray)) or hasattr(v, "__array__"):
        v = np.asarray(v)
        return v.item() if v.ndim == 0 else v.tolist()
    return v
