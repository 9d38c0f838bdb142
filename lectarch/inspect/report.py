"""Where a probe's results go: a PNG, a CSV and a JSON in the output folder, and a TensorBoard image.

    out/<name>.png   out/<name>.csv   out/<name>.json   out/tensorboard/ (image tag <name>)
"""

import csv
import json
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from lectarch.train.metrics import plain


class Report:
    def __init__(self, out: str | pathlib.Path, tensorboard: bool = True):
        self.out = pathlib.Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.tb = None
        if tensorboard:
            from tensorboardX import SummaryWriter

            self.tb = SummaryWriter(str(self.out / "tensorboard"))

    def figure(self, name: str, fig, step: int = 0) -> pathlib.Path:
        """Save ``fig`` as ``<name>.png`` and as a TensorBoard image; closes the figure."""
        import matplotlib.pyplot as plt

        path = self.out / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        if self.tb is not None:
            image = plt.imread(path)[..., :3]
            self.tb.add_image(name, np.clip(image, 0, 1), step, dataformats="HWC")
        return path

    def table(self, name: str, rows: Sequence[Mapping]) -> pathlib.Path:
        """Save ``rows`` (dicts with the same keys) as ``<name>.csv`` and ``<name>.json``."""
        rows = [{k: plain(v) for k, v in r.items()} for r in rows]
        path = self.out / f"{name}.csv"
        keys = list(dict.fromkeys(k for r in rows for k in r))
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)
        self.json(name, rows)
        return path

    def json(self, name: str, data) -> pathlib.Path:
        path = self.out / f"{name}.json"
        path.write_text(json.dumps(data, indent=1, default=plain) + "\n")
        return path

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()

