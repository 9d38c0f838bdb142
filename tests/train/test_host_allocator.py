"""keep_freed_memory: a freed 64 MB block is reused without page faults (glibc only).

Each case runs in a fresh interpreter, since mallopt settings last for the whole process."""

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")

PROBE = """
import ctypes, resource, sys
from lectarch.train.host_allocator import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else {}
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
size = 64 << 20
def touch_and_free():
    p = libc.malloc(size)
    ctypes.memset(p, 1, size)
    libc.free(p)
touch_and_free()  # the first touch always faults
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    touch_and_free()
print(sorted(applied), (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 3)
"""


def _faults_per_block(mode: str, env: dict | None = None) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True,
                         env=env).stdout.split("]")
    return out[0] + "]", int(out[1])


def test_a_freed_block_is_reused_without_page_faults():
    pages = (64 << 20) // 4096  # 16384 pages of 4 KiB
    applied, faults = _faults_per_block("keep")
    assert applied == "['M_ARENA_MAX', 'M_MMAP_MAX', 'M_TRIM_THRESHOLD']"
    assert faults < pages // 20
    _, faults_default = _faults_per_block("default")  # glibc's defaults: mmap + munmap each time
    assert faults_default > pages // 2


def test_lectarch_malloc_default_turns_it_off(monkeypatch):
    import os

    env = dict(os.environ, LECTARCH_MALLOC="default")
    applied, faults = _faults_per_block("keep", env)
    assert applied == "[]" and faults > (64 << 20) // 4096 // 2
