class ConfigError(ValueError):
    """A bad experiment config; its message is one line naming key, value and what is allowed."""
