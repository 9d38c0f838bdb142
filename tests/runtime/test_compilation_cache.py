"""lectarch.runtime.compilation_cache: where the cache lives, and a second process that compiles the
same program loads it from the cache instead of compiling it."""

import os
import subprocess
import sys

from lectarch.runtime import compilation_cache as cc
from tests.helpers import REPO

PROBE = """
import jax.monitoring
from lectarch import runtime
events = []
jax.monitoring.register_event_listener(lambda name, **kw: events.append(name))
print("cache=" + str(runtime.configure().compilation_cache))
import jax, jax.numpy as jnp
def mlp(w1, w2, x):  # a tiny two-layer network's loss and gradient
    return jax.value_and_grad(lambda w1: jnp.mean(jnp.tanh(x @ w1) @ w2))(w1)
import numpy as np  # host arrays: nothing else is compiled
jax.jit(mlp).lower(np.ones((8, 16), np.float32), np.ones((16, 1), np.float32), np.ones((4, 8), np.float32)).compile()
print("hits", events.count("/jax/compilation_cache/cache_hits"), "misses", events.count("/jax/compilation_cache/cache_misses"))
"""


def _compile_once(cache, **env) -> tuple[str, str]:
    e = {**os.environ, "PYTHONPATH": REPO, "JAX_PLATFORMS": "cpu", "LECTARCH_COMPILATION_CACHE": str(cache),
         "LECTARCH_COMPILATION_CACHE_MIN_SECS": "0", **env}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=e, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    return lines[-2].removeprefix("cache="), lines[-1]


def test_a_second_process_loads_the_compiled_program_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    where, first = _compile_once(cache)
    assert where == str(cache) and first == "hits 0 misses 1"
    entries = sorted(os.listdir(cache))
    assert len(entries) == 1 and entries[0].startswith("jit_mlp-")
    _, second = _compile_once(cache)
    assert second == "hits 1 misses 0"
    assert sorted(os.listdir(cache)) == entries  # nothing new written


def test_off_compiles_and_writes_nothing(tmp_path):
    where, line = _compile_once(tmp_path / "cache", LECTARCH_COMPILATION_CACHE="off")
    assert where == "None" and line == "hits 0 misses 0" and not (tmp_path / "cache").exists()


def test_where_the_cache_lives():
    assert cc.default_dir({"XDG_CACHE_HOME": "/x"}) == "/x/lectarch/jax"
    assert cc.default_dir({}) == os.path.join(os.path.expanduser("~"), ".cache", "lectarch", "jax")
    assert cc.resolve("auto", {"XDG_CACHE_HOME": "/x"}) == "/x/lectarch/jax"
    assert cc.resolve("auto", {cc.ENV: "/elsewhere"}) == "/elsewhere"
    assert cc.resolve("auto", {cc.ENV: "off"}) is None
    assert cc.resolve("off", {cc.ENV: "/elsewhere"}) is None  # the config key wins over the variable
    assert cc.resolve("/mine", {cc.ENV: "off"}) == "/mine"
    assert cc.min_compile_secs({}) == cc.MIN_COMPILE_SECS and cc.min_compile_secs({cc.MIN_SECS_ENV: "0"}) == 0.0
