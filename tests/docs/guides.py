"""Reading the guides as data: their shell blocks, the test named under each, and running a command
exactly as a guide shows it (in this process through ``lectarch.cli.main``, or an experiment
module's ``main``), with ``runs/`` moved to a temporary directory and a few fast overrides appended."""

import ast
import importlib
import os
import pathlib
import re
import shlex
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
DOCS = sorted((REPO / "docs").glob("*.md"))
FRONT = [REPO / "README.md"]
SHELL_LANGS = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^```(\S*)\s*$")
TESTED_BY = re.compile(r"^Tested by: (tests/\S+\.py)::(\w+)\s*$")


def shell_blocks(path: pathlib.Path) -> list[dict]:
    """Each shell code block: its lines as written, its commands (continuation lines joined, comments
    dropped), its first line number and the ``Tested by: tests/FILE.py::NAME`` line under it (None if there is none)."""
    lines = path.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m.group(1):
            i += 1
            continue
        lang, start, body = m.group(1), i + 1, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        if lang not in SHELL_LANGS:
            continue
        j = i
        while j < len(lines) and not lines[j].strip():
            j += 1
        tested = TESTED_BY.match(lines[j]) if j < len(lines) else None
        blocks.append({"line": start, "body": body, "commands": commands_of(body),
                       "tested_by": tested.groups() if tested else None})
    return blocks


def commands_of(body: list[str]) -> list[str]:
    joined, current = [], ""
    for line in body:
        line = line.split(" #")[0].rstrip() if not line.lstrip().startswith("#") else ""
        if not line and not current:
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            joined.append(" ".join(current.split()))
            current = ""
    return [c for c in joined if c]


def names_a_test(test_file: str, name: str) -> bool:
    path = REPO / test_file
    if not path.is_file():
        return False
    tree = ast.parse(path.read_text())
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in ast.walk(tree))


def documented(guide: str, command: str) -> str:
    """``command`` exactly as a shell block of ``guide`` (relative to the repository) shows it."""
    shown = [c for b in shell_blocks(REPO / guide) for c in b["commands"]]
    assert command in shown, f"{guide} no longer shows: {command}"
    return command


def run_documented(guide: str, command: str, tmp: pathlib.Path, *fast: str) -> int:
    """Run a command a guide shows, with ``runs/`` under ``tmp`` and ``fast`` arguments appended."""
    words = [w.replace("runs/", f"{tmp}/") for w in shlex.split(documented(guide, command))]
    env = {}
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    args = words[1:] + list(fast)
    if env:  # a different process environment: run it as a subprocess
        from tests.xla_flags import COMPILE_FAST, USERS_CODEGEN

        if "XLA_FLAGS" in env and not USERS_CODEGEN:  # the guide's flags, and the suite's code generation
            env["XLA_FLAGS"] = f"{env['XLA_FLAGS']} {COMPILE_FAST}"
        full = dict(os.environ, **env, JAX_PLATFORMS="cpu")
        cmd = [sys.executable, "-m", "lectarch", *args] if words[0] == "lectarch" else [sys.executable, *args]
        out = subprocess.run(cmd, cwd=REPO, env=full, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        return out.returncode
    if words[0] == "lectarch":
        from lectarch.cli import main

        return main(args)
    if words[0] == "python" and args[0] == "-m" and args[1].startswith("experiments."):
        return importlib.import_module(args[1]).main(args[2:])
    raise AssertionError(f"no runner for: {command}")
