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
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise _malformed(path, f"{type(e).__name__}: {e}") from None
    if not isinstance(record, dict):
        raise _malformed(path, f"it holds a JSON {type(record).__name__}, not an object")
    wrong = [k for k, kind in _FIELDS.items() if k in record and not isinstance(record[k], kind)]
    if wrong or "step" not in record:
        raise _malformed(path, f"its {(wrong or ['step'])[0]!r} is missing or of the wrong type")
    return record if record["step"] == step else None


_FIELDS = {"status": str, "step": int, "best_eval": dict, "last_eval": dict, "wall_time": (int, float),
           "num_params": int}


def _malformed(path: pathlib.Path, why: str):
    from lectarch.config.errors import ConfigError

    return ConfigError(f"{path} is not a run record ({why}); nothing was changed: restore it, or move it aside "
                       f"to resume without the earlier run's summary")


__all__ = ["read_record", "write_record"]
