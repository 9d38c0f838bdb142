"""Two tiny fake implementations of one piece of work, for ``tests/bench/test_run.py``.

Each step appends its implementation's name to the file named by ``BENCH_FAKE_LOG`` (if set), so a
test can read back the order in which the bench ran them.
"""

import os

from experiments.bench.rows import Case

WORK = "fake work: sum of 1000 squares"


def _impl(name: str, n: int):
    def setup():
        log = os.environ.get("BENCH_FAKE_LOG")

        def step():
            sum(i * i for i in range(n))
            if log:
                with open(log, "a") as f:
                    f.write(name + "\n")

        return step

    return setup


def cases(args) -> list[Case]:
    return [Case(WORK, "lectarch", _impl("lectarch", 1000), flops=2000.0),
            Case(WORK, "peer", _impl("peer", 1000), flops=2000.0)]
