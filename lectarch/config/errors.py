"""The error of a bad config, and how a config key that is not there is recognised."""

import traceback


class ConfigError(ValueError):
    """A bad experiment config; its message is one line naming key, value and what is allowed."""


def missing_config_key(e: BaseException) -> str | None:
    """The key a ``ConfigDict`` lookup did not find (``cfg.clip.global_norm`` on a config whose
    ``clip`` group lacks it), if that is what ``e`` is; else ``None``."""
    if not isinstance(e, (AttributeError, KeyError)):
        return None
    frames = traceback.extract_tb(e.__traceback__)
    if not frames or "ml_collections" not in frames[-1].filename:
        return None
    return str(e.args[0] if e.args else "").strip("\"'") or None
