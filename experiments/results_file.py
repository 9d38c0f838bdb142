"""Every experiment writes its results where the docs read them: ``experiments/results/...``.

``write_results(path, title, body, command)`` writes a Markdown file that starts with the facts of
the measurement (date, the command that produced it, library versions, the machine and its load
average before and after the run) and then ``body`` (usually a Markdown table). The docs link to
or include these files instead of retyping numbers.
"""

import datetime
import os
import pathlib
import platform
import sys
from importlib import metadata

PACKAGES = ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "numpy", "torch")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "loadavg_1m": round(load[0], 2)}


def _program() -> str:
    """How this process was started: ``python -m experiments.bench`` for a module run with ``-m``."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return "python -m " + spec.name.removesuffix(".__main__")
    return pathlib.Path(sys.argv[0]).as_posix()


class Measurement:
    """Facts of one measurement: ``start()`` before, ``header()`` after (load before and after)."""

    def __init__(self, command: str | None = None):
        self.command = command or " ".join([_program(), *sys.argv[1:]])
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.load_before = machine()["loadavg_1m"]

    def facts(self) -> dict:
        m = machine()
        return {"date": self.started.strftime("%Y-%m-%d %H:%M UTC"), "command": self.command,
                "versions": versions(), "machine": m, "load_before": self.load_before,
                "load_after": m["loadavg_1m"]}

    def header(self) -> str:
        f = self.facts()
        vers = ", ".join(f"{k} {v}" for k, v in f["versions"].items())
        m = f["machine"]
        return (f"- date: {f['date']}\n- command: `{f['command']}`\n- versions: {vers}\n"
                f"- machine: {m['platform']}, {m['cpu_count']} CPU cores ({m['processor']})\n"
                f"- load average (1 min): {f['load_before']} before, {f['load_after']} after\n")


def write_results(path: str | pathlib.Path, title: str, body: str, measurement: Measurement) -> pathlib.Path:
    """Write ``# title``, the measurement's facts, then ``body``; return the path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {title}\n\n{measurement.header()}\n{body.rstrip()}\n")
    return path
