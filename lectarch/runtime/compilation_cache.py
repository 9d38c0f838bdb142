"""JAX's persistent compilation cache: compiled programs kept on disk, so a rerun, a resumed run and
a sweep's next trial load the train step instead of compiling it again.

Where the cache lives, first match wins:

1. the config key ``compilation_cache``: a directory, or ``"off"`` (``"auto"``, the default, goes on);
2. ``LECTARCH_COMPILATION_CACHE``: a directory, or ``off``;
3. ``$XDG_CACHE_HOME/lectarch/jax``, else ``~/.cache/lectarch/jax``.

A program is written to the cache when compiling it took at least ``MIN_COMPILE_SECS`` (0.25 s;
``LECTARCH_COMPILATION_CACHE_MIN_SECS`` changes it): train and eval steps are, the many tiny
programs of initialisation are not (reading them back would cost more than compiling them). The
cache key holds the program, the devices, the XLA flags and the versions of jax and jaxlib, so a
changed model, mesh or jaxlib compiles afresh. An entry JAX cannot read (a write cut short) is
compiled afresh, with a warning. The cache is not trimmed: delete the directory to empty it. If the
directory cannot be created the cache stays off and one line says so; training goes on.
"""

import os
import sys

ENV = "LECTARCH_COMPILATION_CACHE"
MIN_SECS_ENV = "LECTARCH_COMPILATION_CACHE_MIN_SECS"
MIN_COMPILE_SECS = 0.25
OFF = ("off", "none", "0", "false")
AUTO = "auto"


def default_dir(env: dict | None = None) -> str:
    """``$XDG_CACHE_HOME/lectarch/jax``, else ``~/.cache/lectarch/jax``."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lectarch", "jax")


def resolve(setting: str = AUTO, env: dict | None = None) -> str | None:
    """The cache directory for the config value ``setting`` (``"auto"``, ``"off"`` or a directory);
    ``None``: off."""
    env = os.environ if env is None else env
    setting = (setting or AUTO).strip()
    if setting.lower() in OFF:
        return None
    if setting != AUTO:
        return os.path.abspath(os.path.expanduser(setting))
    from_env = env.get(ENV, "").strip()
    if from_env.lower() in OFF:
        return None
    return os.path.abspath(os.path.expanduser(from_env)) if from_env else default_dir(env)


def min_compile_secs(env: dict | None = None) -> float:
    env = os.environ if env is None else env
    text = env.get(MIN_SECS_ENV, "")
    try:
        return float(text) if text else MIN_COMPILE_SECS
    except ValueError:
        print(f"lectarch: {MIN_SECS_ENV}={text!r} is not a number: using {MIN_COMPILE_SECS}", file=sys.stderr)
        return MIN_COMPILE_SECS


_current: list[str | None] = []  # the directory set last (empty: never set in this process)


def use(setting: str = AUTO, env: dict | None = None) -> str | None:
    """Point JAX's persistent compilation cache at ``resolve(setting)`` (or turn it off); returns
    the directory in use. Before ``jax`` is imported it sets JAX's own environment variables (so the
    command line starts without importing JAX), after it ``jax.config``. Cheap to call again: only
    a change of directory touches JAX."""
    directory = resolve(setting, env)
    if _current and _current[0] == directory:
        return directory
    if directory is not None:
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as e:
            print(f"lectarch: compilation cache off: cannot create {directory} ({e.strerror}); set {ENV} "
                  "to a writable directory or to off", file=sys.stderr)
            directory = None
    values = {"jax_enable_compilation_cache": directory is not None,
              "jax_persistent_cache_min_compile_time_secs": min_compile_secs(env)}
    if directory is not None:
        values["jax_compilation_cache_dir"] = directory
    if "jax" in sys.modules:
        import jax

        if _current:  # JAX opens its cache once: a different directory starts it afresh
            from jax.experimental.compilation_cache import compilation_cache

            compilation_cache.reset_cache()
        for name, value in values.items():
            jax.config.update(name, value)
    else:  # read by JAX when it is imported
        for name, value in values.items():
            os.environ[name.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
    _current[:] = [directory]
    return directory


def in_use() -> str | None:
    """The cache directory JAX writes to now (``None``: off or never set)."""
    return _current[0] if _current else None


__all__ = ["AUTO", "ENV", "MIN_COMPILE_SECS", "MIN_SECS_ENV", "default_dir", "in_use", "min_compile_secs",
           "resolve", "use"]
