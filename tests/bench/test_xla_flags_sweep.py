"""experiments/bench/xla_flags_sweep.py: a flag XLA refuses is reported on its own line, the sweep goes on."""

from experiments.bench.xla_flags_sweep import run_one


def test_a_flag_xla_refuses_is_reported_as_an_error():
    res = run_one("--xla_cpu_no_such_flag=1", rounds=1, quick=True)
    assert "error" in res and "LSTM" not in res
