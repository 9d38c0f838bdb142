"""Checksums of a checkpoint's files: written once the save is complete, verified before a restore.

A manifest ``<step>/lectarch-checksums.json`` maps every file of the step folder (by its path
relative to the folder) to its size and SHA-256. It is written after orbax has finalised the step,
through a temporary file and an atomic rename, so a manifest that exists describes a complete save.
``verify`` returns the first difference as a sentence (a missing, extra, resized or changed file),
or ``None`` when every byte is as saved.
"""

import hashlib
import json
import os
import pathlib

MANIFEST = "lectarch-checksums.json"
_TMP_SUFFIX = ".tmp-"


def _is_manifest(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name == MANIFEST or name.startswith(MANIFEST + _TMP_SUFFIX)


def _sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_checksums(step_dir: pathlib.Path) -> dict[str, dict]:
    """``{relative path: {"bytes": size, "sha256": hex}}`` of every file under ``step_dir``."""
    out = {}
    for path in sorted(p for p in step_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(step_dir).as_posix()
        if not _is_manifest(rel):
            out[rel] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    return out


def write_manifest(step_dir: pathlib.Path) -> pathlib.Path:
    """Checksum ``step_dir``'s files and write the manifest atomically (temporary file + rename)."""
    path = step_dir / MANIFEST
    tmp = step_dir / f"{MANIFEST}{_TMP_SUFFIX}{os.getpid()}"
    body = json.dumps({"version": 1, "files": file_checksums(step_dir)}, indent=1, sort_keys=True)
    with open(tmp, "w") as f:
        f.write(body + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def has_manifest(step_dir: pathlib.Path) -> bool:
    return (step_dir / MANIFEST).is_file()


def verify(step_dir: pathlib.Path) -> str | None:
    """``None`` if ``step_dir``'s files match its manifest, else what differs (one sentence)."""
    try:
        saved = json.loads((step_dir / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        return f"its checksum manifest {MANIFEST} is unreadable ({type(e).__name__})"
    if not isinstance(saved, dict) or not all(
            isinstance(w, dict) and isinstance(w.get("bytes"), int) and isinstance(w.get("sha256"), str)
            for w in saved.values()):
        return f"its checksum manifest {MANIFEST} is malformed (files must map each name to its bytes and sha256)"
    for rel, want in sorted(saved.items()):
        path = step_dir / rel
        if not path.is_file():
            return f"file {rel} is missing"
        if path.stat().st_size != want["bytes"]:
            return f"file {rel} has {path.stat().st_size} bytes, {want['bytes']} were saved"
        if _sha256(path) != want["sha256"]:
            return f"file {rel} does not match its saved checksum"
    extra = sorted(set(file_checksums_names(step_dir)) - set(saved))
    if extra:
        return f"file {extra[0]} was not part of the save"
    return None


def file_checksums_names(step_dir: pathlib.Path) -> list[str]:
    rels = (p.relative_to(step_dir).as_posix() for p in step_dir.rglob("*") if p.is_file())
    return [r for r in rels if not _is_manifest(r)]


def disk_bytes(step_dir: pathlib.Path) -> int:
    """Total size of the files under ``step_dir`` (what the next save will roughly need)."""
    return sum(p.stat().st_size for p in step_dir.rglob("*") if p.is_file())
