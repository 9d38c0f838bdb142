"""``DIR/run.json``: how a run ended (status, step, best and last eval, wall time), written at its end.

Rerunning a finished run restores its last checkpoint and has nothing left to do; its summary then
comes from this record, so it shows the real evals and the original wall time, not those of the
no-op rerun. A resumed run adds its time to the recorded one and keeps the recorded best eval.
"""

import json
import pathlib

NAME = "run.json"


def write_record(workdir: pathlib.Path, *, status: str, step: int, best_eval: dict, last_eval: dict,
                 wall_time: float, num_params: int) -> None:
    record = {"status": status, "step": step, "best_eval": best_eval, "last_eval": last_eval,
              "wall_time": wall_time, "num_params": num_params}
    tmp = workdir / (NAME + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(workdir / NAME)


def read_record(workdir: pathlib.Path, step: int) -> dict | None:
    """The record of a run that stopped at ``step`` (the checkpoint resumed from), else None."""
    path = workdir / NAME
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    return record if record.get("step") == step else None


__all__ = ["read_record", "write_record"]
