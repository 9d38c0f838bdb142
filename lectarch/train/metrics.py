"""Where numbers go: ``metrics.jsonl`` (one JSON object per logged step and split), TensorBoard
event files and PNG pictures, all in the workdir, written by process 0 only."""

import json
import math
import pathlib

import jax
import numpy as np


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

            self.tb = SummaryWriter(str(self.workdir / "tensorboard"), purge_step=resume_step + 1 if resume_step else None)

    def _truncate_after(self, step: int) -> None:
        """Drop records written after the checkpoint a resumed run restarts from."""
        if not self.path.exists():
            return
        keep = [line for line in self.path.read_text().splitlines()
                if line.strip() and json.loads(line)["step"] <= step]
        self.path.write_text("".join(line + "\n" for line in keep))

    def write(self, step: int, split: str, scalars: dict[str, float]) -> None:
        if not self.active:
            return
        record = {"step": int(step), "split": split}
        record.update({k: plain(v) for k, v in scalars.items()})
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for k, v in scalars.items():
                if isinstance(v, (int, float)) and math.isfinite(v):
                    self.tb.add_scalar(f"{split}/{k}", v, step)

    def image(self, step: int, name: str, image: np.ndarray) -> pathlib.Path | None:
        """Save ``image`` (HxW or HxWx3/4, floats in [0, 1]) as a PNG and a TensorBoard image."""
        if not self.active:
            return None
        out = self.workdir / "pictures" / f"{name}_step{step}.png"
        save_png(out, image)
        if self.tb is not None:
            img = np.asarray(image, np.float32)
            img = img[..., None] if img.ndim == 2 else img
            self.tb.add_image(name, np.clip(img, 0, 1), step, dataformats="HWC")
        return out

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def save_png(path: pathlib.Path, image: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.clip(np.asarray(image, np.float32), 0, 1)
    plt.imsave(path, img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)


def read_metrics(workdir: str | pathlib.Path, split: str | None = None) -> list[dict]:
    path = pathlib.Path(workdir) / "metrics.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if split is None or r["split"] == split]


def plain(v):
    """A JSON-ready value: arrays and numpy scalars as Python lists and numbers; anything else as is."""
    if isinstance(v, (np.generic, np.ndarray)) or hasattr(v, "__array__"):
        v = np.asarray(v)
        return v.item() if v.ndim == 0 else v.tolist()
    return v
