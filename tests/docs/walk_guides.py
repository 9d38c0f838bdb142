"""A walk through the README and every guide as a new user takes it: every shell block run as
written, in order, by bash, in the repository root with the venv on the PATH (what
``. .venv/bin/activate`` does), and every whole command shown inline (a code span such as
`lectarch conv-example --pool 2`). Not a test (it takes about an hour with the default limit); run it by hand on a fresh
clone after ``make run``:

    .venv/bin/python -m tests.docs.walk_guides --out walk.md [--timeout 150] [--only cnn.md,sweeps.md]

A line ending in ``&`` starts a job in the background, as a user would, and the next line runs
``--pause`` seconds later; a block's background jobs are waited for. A block whose comment shows
``error: ...`` must exit non-zero and print that message. A command that needs what a laptop lacks
(a SLURM cluster, a remote PostgreSQL host, a small file system) is listed, not run. The guide
*Your own model or dataset* runs in two folders outside the repository: one holding its three
files, one a copy of ``experiments/plugins/`` and a config with an error in it. Each block ends as: ``ok``,
``expected error``, ``stopped at the time limit`` (ran that long without an error) or ``FAILED``.
"""

import argparse
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from tests.docs.guides import DOCS, FRONT, REPO, shell_blocks

NEEDS = {"sbatch": "a SLURM cluster", "dbhost": "a PostgreSQL server at dbhost",
         "/mnt/small": "a small file system to fill", "ACCEL=cuda12": "an NVIDIA GPU",
         "DEVICE=gpu": "an NVIDIA GPU", "--device gpu": "an NVIDIA GPU",
         "make test": "its own run (the whole suite, timed on a fresh clone)"}
INLINE = re.compile(r"`((?:lectarch|python -m|make) [^`]+)`")
PLACEHOLDER = re.compile(r"\b(COMMAND|FILE|DIR2?|SPACE|URL|RUN|N|I|K|KEY|VALUE|PATH)\b|[\[\]|<>:]|\.\.\.")
# a command's name or one of its flags named in a sentence, not a command to run
MENTIONS = re.compile(
    r"lectarch (train|sweep|inspect|gradflow|receptive-field|visualize|decode)( --distributed| --what summary)?")
# what the text beside an inline command says to do first
FIRST = {"lectarch visualize --workdir runs/cnn":
         "lectarch train --config experiments/configs/cnn_digits.py --workdir runs/cnn"}
EXPECTED = re.compile(r"#\s*(lectarch \w+: error: .*?)(?:\.\.\.|$)")


def inline_commands(page: pathlib.Path, seen: set):
    """Whole commands in code spans outside the shell blocks (not templates such as ``--config FILE``),
    each once across the pages."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for number, line in enumerate(text.splitlines(), 1):
        for command in INLINE.findall(line):
            command = " ".join(command.split())
            if PLACEHOLDER.search(command) or MENTIONS.fullmatch(command) or command in seen:
                continue
            seen.add(command)
            yield command


def own_folders(root: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """Two folders outside the repository, as *Your own model or dataset* asks a reader to make: one
    with the guide's three files, one with a copy of the worked example (``experiments/plugins/``)
    and a config with an error in it."""
    minimal, worked = (pathlib.Path(tempfile.mkdtemp(prefix=f"lectarch_{n}_")) for n in ("minimal", "plugins"))
    text = (root / "docs" / "your-own-model.md").read_text()
    for code in re.findall(r"```python\n(# (\w+\.py)\n.*?)```", text, flags=re.S):
        (minimal / code[1]).write_text(code[0])
    for name in os.listdir(root / "experiments" / "plugins"):
        if name.endswith(".py"):
            shutil.copy(root / "experiments" / "plugins" / name, worked / name)
    (worked / "broken_config.py").write_text("def get_config():\n    return undefined_name\n")
    return minimal, worked


def run_block(commands: list[str], cwd: pathlib.Path, env: dict, timeout: float, pause: float):
    script = ["rc=0"]  # the block's status: its last command's in the foreground
    for command in commands:
        script.append(command)
        script.append(f"sleep {pause}" if command.rstrip().endswith("&") else "rc=$?")
    script.append("wait; exit $rc")
    start = time.monotonic()
    proc = subprocess.Popen(["bash", "-c", "\n".join(script)], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        rc = None
    return rc, time.monotonic() - start, out


def shown_message(message: str) -> str:
    """A regular expression for a message as a guide shows it: "..." stands for any text, "N" and
    every number for any number."""
    parts = re.split(r"(\.\.\.|\bN\b|\d+)", message.strip())
    return "".join(".*?" if p == "..." else r"\d+" if p == "N" or p.isdigit() else re.escape(p) for p in parts)


def verdict(rc, out: str, expected: list[str], debug: bool = False) -> str:
    if rc is None:
        return "stopped at the time limit" if "Traceback" not in out else "FAILED"
    if debug:  # --debug asks for the traceback of the error
        return "expected error (with the traceback --debug asks for)" if rc != 0 and "Traceback" in out else "FAILED"
    if expected:
        patterns = [shown_message(e) for e in expected]
        shown = all(re.search(p, out) for p in patterns)
        return "expected error" if rc != 0 and shown else "FAILED"
    return "ok" if rc == 0 and "Traceback" not in out else "FAILED"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="walk.md")
    parser.add_argument("--timeout", type=float, default=150, help="seconds per block")
    parser.add_argument("--pause", type=float, default=10, help="seconds after a line ending in &")
    parser.add_argument("--only", default="", help="comma-separated page names")
    args = parser.parse_args(argv)
    venv = REPO / ".venv"
    env = dict(os.environ, VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}:{os.environ['PATH']}")
    env.pop("PYTHONHOME", None)
    pages = [p for p in FRONT + DOCS if not args.only or p.name in args.only.split(",")]
    minimal, worked = own_folders(REPO)
    report = [f"# Guide walk ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
              f"limit {args.timeout:.0f} s a block)", "",
              "| where | commands | result | seconds | last output |", "|---|---|---|---|---|"]
    failed, seen = 0, set()
    for page in pages:
        own = page.name == "your-own-model.md"
        runs = [(f"{page.relative_to(REPO)}:{b['line']}", b["commands"],
                 [m.group(1) for line in b["body"] for m in [EXPECTED.search(line)] if m]) for b in shell_blocks(page)]
        runs += [(f"{page.relative_to(REPO)} (inline)", [FIRST[c], c] if c in FIRST else [c], [])
                 for c in inline_commands(page, seen)]
        for where, commands, expected in runs:
            needs = {c: [why for key, why in NEEDS.items() if key in c] for c in commands}
            runnable = [c for c in commands if not needs[c]]
            missing = sorted({why for whys in needs.values() for why in whys})
            result, seconds, tail = "", 0.0, ""
            cwd = REPO if not own else worked if any(w in " ".join(commands) for w in ("gru_", "broken_config", "lstn")) \
                else minimal
            if runnable:
                print(f"{where}: {' ; '.join(runnable)}", file=sys.stderr, flush=True)
                rc, seconds, out = run_block(runnable, cwd, env, args.timeout, args.pause)
                result = verdict(rc, out, expected, debug=any("--debug" in c for c in runnable))
                tail = " / ".join(line.strip() for line in out.strip().splitlines()[-3:])[-300:]
                failed += result == "FAILED"
                print(f"  -> {result} ({seconds:.0f} s) {tail[-200:]}", file=sys.stderr, flush=True)
            if missing:
                result += ("; the rest " if result else "") + f"not run: needs {', '.join(missing)}"
            cells = [where, "<br>".join(f"`{c}`" for c in commands), result, f"{seconds:.0f}",
                     tail.replace("|", "\\|")]
            report.append("| " + " | ".join(cells) + " |")
            pathlib.Path(args.out).write_text("\n".join(report) + "\n")
    print(f"{failed} failed; report in {args.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
