"""A run's ``config.json``: what may change when a run is resumed, and what may not.

A resumed run must read as one uninterrupted run, so every key that changes how the steps already
taken (or the steps still to come) are computed must equal the saved value. The keys below only
change how long the run goes on, how often it reports and how it shows progress; they may change on
resume. Every other key is compared, and a difference is refused with one line naming each key,
its saved value and the new one.
"""

import json
import pathlib

import ml_collections

from lectarch.config.defaults import base_config

from lectarch.config.errors import ConfigError

CONFIG_FILE = "config.json"

# Keys that may change when a run is resumed: length, cadence, outputs and machine-local settings.
RESUMABLE_KEYS = frozenset({
    "compilation_cache",
    "log_grad_flow_every",
    "num_steps",
    "log_every",
    "eval_every",
    "checkpoint_every",
    "max_to_keep",
    "eval_batch_size",
    "data_workers",
    "num_devices",
    "log_grad_norms",
    "nonfinite_check",  # what freezes the state at a bad step; the updates of good steps are the same
    "pictures",
    "progress",
    "import_path",  # where the experiment file's plug-ins are found; not part of the run's history
})


def _flatten(tree, prefix: str = "") -> dict:
    flat = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            flat.update(_flatten(v, f"{prefix}{k}."))
        else:
            flat[f"{prefix}{k}"] = v
    return flat


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def read_saved_config(workdir: pathlib.Path) -> dict | None:
    """The workdir's saved config as a dict, ``None`` if there is none; a damaged file is an error."""
    path = pathlib.Path(workdir) / CONFIG_FILE
    if not path.exists():
        return None
    try:
        saved = json.loads(path.read_text())
        if not isinstance(saved, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"{path} is unreadable ({type(e).__name__}: {str(e).splitlines()[0][:120]}), so it cannot tell "
            f"whether this config fits the run's checkpoints. Restore the file (e.g. from your experiment "
            f"file: it is the config as JSON), or move the workdir's checkpoints aside to start afresh, "
            f"or use a new --workdir") from None
    return saved


def history_changes(saved: dict, now: dict) -> list[str]:
    """``key: old -> new`` for every key outside ``RESUMABLE_KEYS`` that differs; a shared key missing
    from ``saved`` (written before the key existed) counts as its ``base_config()`` default."""
    old_flat, new_flat = _flatten(saved), _flatten(now)
    defaults = _flatten(json.loads(base_config().to_json()))  # a key a run's config predates had its default
    missing = object()
    changes = []
    for key in sorted(set(old_flat) | set(new_flat)):
        if key in RESUMABLE_KEYS:
            continue
        old, new = old_flat.get(key, defaults.get(key, missing)), new_flat.get(key, missing)
        if _plain(old) != _plain(new):
            show = lambda v: "(absent)" if v is missing else repr(v)  # noqa: E731
            changes.append(f"{key}: {show(old)} -> {show(new)}")
    return changes


def _has_checkpoints(workdir: pathlib.Path) -> bool:
    directory = pathlib.Path(workdir) / "checkpoints"
    return directory.is_dir() and any(p.name.isdigit() for p in directory.iterdir())


def check_resume(workdir: pathlib.Path, cfg: ml_collections.ConfigDict) -> None:
    """Refuse to resume ``workdir`` with a config that would change the run's history, or to rewrite
    that history (``lectarch.train.history.check_history``: a missing ``config.json`` or
    ``checkpoints`` folder beside an earlier run's rows)."""
    from lectarch.train.history import check_history

    check_history(workdir, cfg)
    try:
        saved = read_saved_config(workdir)
    except ConfigError:
        if not _has_checkpoints(workdir):
            return  # nothing was trained from it: the run starts afresh and rewrites it
        raise
    if saved is None:
        return
    changes = history_changes(saved, json.loads(cfg.to_json()))
    if changes:
        raise ConfigError(f"cannot resume {workdir} with a different config ({'; '.join(changes)}): these keys "
                          f"change how the run is trained; use the saved values or a new --workdir (num_steps, "
                          f"the log/eval/checkpoint cadence and the other keys of "
                          f"lectarch.train.run_config.RESUMABLE_KEYS may change)")


__all__ = ["CONFIG_FILE", "RESUMABLE_KEYS", "check_resume", "history_changes", "read_saved_config"]
