"""Where a probe's results go: a PNG, a CSV and a JSON in the output folder, and a TensorBoard image.

    out/<name>.png   out/<name>.csv   out/<name>.json   out/tensorboard/ (image tag <name>)
"""

import contextlib
import csv
import json
import pathlib
import socket
import time
from collections.abc import Mapping, Sequence

import numpy as np

from lectarch.train.metrics import naming_errors, plain


class _Images:
    """TensorBoard images in ``folder``, written and flushed as they come: no writer thread and no
    exit hook, so a full disk is an ``OSError`` here, not a traceback when the program ends."""

    def __init__(self, folder: pathlib.Path):
        from tensorboardX.proto import event_pb2
        from tensorboardX.record_writer import RecordWriter

        folder.mkdir(parents=True, exist_ok=True)
        self._records = RecordWriter(str(folder / f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"))
        try:
            self._write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))
        except OSError:
            with contextlib.suppress(OSError):
                self.close()
            raise

    def _write(self, event) -> None:
        self._records.write(event.SerializeToString())
        self._records.flush()

    def add(self, name: str, image_HxWx3: np.ndarray, step: int) -> None:
        from tensorboardX.proto import event_pb2
        from tensorboardX.summary import image

        summary = image(name, image_HxWx3, dataformats="HWC")
        self._write(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))

    def close(self) -> None:
        self._records.close()  # the file is closed even when this last flush fails


class Report:
    """The files of one probe run; a write that fails (a full or read-only disk) is an ``OSError``
    naming the file."""

    def __init__(self, out: str | pathlib.Path, tensorboard: bool = True):
        self.out = pathlib.Path(out)
        with naming_errors(self.out):
            self.out.mkdir(parents=True, exist_ok=True)
        self.tensorboard = tensorboard
        self.tb = None  # the TensorBoard event file, opened with the first image

    @contextlib.contextmanager
    def _writing(self, path: pathlib.Path):
        try:
            with naming_errors(path):
                yield
        except OSError:
            tb, self.tb, self.tensorboard = self.tb, None, False
            if tb is not None:
                with contextlib.suppress(OSError):
                    tb.close()
            raise

    def figure(self, name: str, fig, step: int = 0) -> pathlib.Path:
        """Save ``fig`` as ``<name>.png`` and as a TensorBoard image; closes the figure."""
        import matplotlib.pyplot as plt

        path = self.out / f"{name}.png"
        try:
            with self._writing(path):
                fig.savefig(path, dpi=110)
        finally:
            plt.close(fig)
        if self.tensorboard:
            image = plt.imread(path)[..., :3]
            with self._writing(self.out / "tensorboard"):
                self.tb = self.tb or _Images(self.out / "tensorboard")
                self.tb.add(name, np.clip(image, 0, 1), step)
        return path

    def table(self, name: str, rows: Sequence[Mapping]) -> pathlib.Path:
        """Save ``rows`` (dicts with the same keys) as ``<name>.csv`` and ``<name>.json``."""
        rows = [{k: plain(v) for k, v in r.items()} for r in rows]
        path = self.out / f"{name}.csv"
        keys = list(dict.fromkeys(k for r in rows for k in r))
        with self._writing(path), path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)
        self.json(name, rows)
        return path

    def json(self, name: str, data) -> pathlib.Path:
        path = self.out / f"{name}.json"
        with self._writing(path):
            path.write_text(json.dumps(data, indent=1, default=plain) + "\n")
        return path

    def close(self) -> None:
        if self.tb is not None:
            with self._writing(self.out / "tensorboard"):
                self.tb.close()
            self.tb = None
