import json
import os
import pathlib
import subprocess
import sys

from tests.helpers import REPO, cli_env


def _bench(*args, env=None):
    return subprocess.run([sys.executable, "-m", "experiments.bench", *args], cwd=REPO, env=env or cli_env(1),
                          capture_output=True, text=True, timeout=300)


def test_bench_interleaves_implementations_in_rounds_and_records_its_facts(tmp_path):
    out, log = tmp_path / "bench.json", tmp_path / "order.txt"
    env = dict(cli_env(1), BENCH_FAKE_LOG=str(log))
    r = _bench("--only", "tests.bench.fake_rows", "--match", "squares", "--rounds", "4", "--warmup", "2", "--threads", "1",
               "--no-torch", "--json", str(out), "--md", str(tmp_path / "bench.md"), env=env)
    assert r.returncode == 0, r.stderr
    order = log.read_text().split()
    # setup: each case's first call + 2 warm-ups, one case after the other; then 4 rounds, each
    # turn an untimed lead-in step and the timed one: A A B B, A A B B, ...
    assert order == ["lectarch"] * 3 + ["peer"] * 3 + ["lectarch", "lectarch", "peer", "peer"] * 4
    data = json.loads(out.read_text())
    rows = {row["impl"]: row for row in data["rows"]}
    assert set(rows) == {"lectarch", "peer"}
    for row in rows.values():
        assert row["rounds"] == 4 and len(row["ms_rounds"]) == 4
        assert row["ms_min"] <= row["ms_p25"] <= row["ms_per_step"] <= row["ms_p75"] <= row["ms_max"]
        assert row["ms_per_step"] == sorted(row["ms_rounds"])[1] / 2 + sorted(row["ms_rounds"])[2] / 2
    # the peer's speedup is the median of the per-round ratios peer / lectarch
    ratios = sorted(p / q for p, q in zip(rows["peer"]["ms_rounds"], rows["lectarch"]["ms_rounds"]))
    assert abs(rows["peer"]["speedup_of_lectarch"] - (ratios[1] + ratios[2]) / 2) < 1e-9
    assert rows["lectarch"]["speedup_of_lectarch"] == 1.0
    meta = data["meta"]
    assert meta["threads"]["threads"] == 1 and "--xla_cpu_multi_thread_eigen=false" in meta["threads"]["XLA_FLAGS"]
    assert meta["threads"]["malloc"] == "default"
    assert "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution" in meta["threads"]["XLA_FLAGS"]
    assert meta["versions"]["jax"] and meta["command"].startswith("python -m experiments.bench --only tests.bench.fake_rows")
    load = meta["load"]
    assert len(load["loadavg_before"]) == 3 and len(load["loadavg_after"]) == 3
    assert load["others_load"] >= 0 and isinstance(load["warnings"], list)
    md = (tmp_path / "bench.md").read_text()
    assert "load average (1 min)" in md and "| fake work: sum of 1000 squares | peer |" in md
    assert "| work | implementation |" in r.stdout


def test_bench_lead_in_zero_times_every_call_in_plain_rounds(tmp_path):
    log = tmp_path / "order.txt"
    r = _bench("--only", "tests.bench.fake_rows", "--match", "squares", "--rounds", "3", "--warmup", "1",
               "--threads", "1", "--no-torch", "--lead-in", "0", env=dict(cli_env(1), BENCH_FAKE_LOG=str(log)))
    assert r.returncode == 0, r.stderr
    assert log.read_text().split() == ["lectarch"] * 2 + ["peer"] * 2 + ["lectarch", "peer"] * 3
    r = _bench("--only", "tests.bench.fake_rows", "--lead-in", "-1", "--no-torch")
    assert r.returncode == 2 and r.stderr.strip() == "bench: --lead-in must be 0 or more"


def test_bench_warns_when_the_machine_is_loaded():
    from experiments.bench.machine import LoadProbe

    probe = LoadProbe()
    probe.loadavg_before = [float(os.cpu_count()) * 10] * 3  # as if the machine were busy before the run
    facts = probe.finish(threads=1)
    assert any("unreliable" in w for w in facts["warnings"])


def test_bench_rejects_bad_input_with_one_line():
    bad = _bench("--only", "nosuch")
    assert bad.returncode != 0 and "unknown row module" in bad.stderr
    bad = _bench("--threads", "9999", "--only", "tests.bench.fake_rows")
    assert bad.returncode == 2 and "--threads 9999" in bad.stderr and "Traceback" not in bad.stderr


def test_bench_keeps_only_the_cases_asked_for(tmp_path):
    """``--device cpu`` keeps the CPU cases; ``--device gpu`` on a machine without a GPU, or a ``--match``
    nothing has, is one line and exit 2, and writes no results file (an empty table would read as a run)."""
    out = tmp_path / "bench.json"
    for args, cause in ((("--device", "gpu"), "--device gpu needs a GPU, and JAX's backend here is cpu"),
                        (("--match", "no such work"), "no case to run")):
        r = _bench("--only", "tests.bench.fake_rows", "--rounds", "1", "--warmup", "0", "--json", str(out), *args)
        assert r.returncode == 2 and cause in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert not out.exists()
    r = _bench("--only", "tests.bench.fake_rows", "--rounds", "1", "--warmup", "0", "--device", "cpu", "--json", str(out))
    assert [row["impl"] for row in json.loads(out.read_text())["rows"]] == ["lectarch", "peer"]


def test_bench_malloc_keep_applies_lectarchs_allocator_settings_to_the_process(tmp_path):
    import platform

    out = tmp_path / "bench.json"
    r = _bench("--only", "tests.bench.fake_rows", "--match", "squares", "--rounds", "2", "--warmup", "1",
               "--threads", "1", "--no-torch", "--malloc", "keep", "--json", str(out))
    assert r.returncode == 0, r.stderr
    malloc = json.loads(out.read_text())["meta"]["threads"]["malloc"]
    if platform.libc_ver()[0] == "glibc":
        assert malloc == {"M_ARENA_MAX": 1, "M_MMAP_MAX": 0, "M_TRIM_THRESHOLD": 2**31 - 1}


def test_cpu_directions_rows_run_under_the_bench(tmp_path):
    """experiments/bench/cpu_directions.py's GEMM rows (JAX only, smallest sizes): one row per shape."""
    from experiments.bench.cpu_directions import GEMMS

    out = tmp_path / "directions.json"
    r = _bench("--only", "experiments.bench.cpu_directions", "--quick", "--match", "GEMM", "--no-torch", "--rounds", "1",
               "--threads", "1", "--json", str(out))
    assert r.returncode == 0, r.stderr
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == len(GEMMS) and all(row["impl"] == "lectarch" and row["ms_per_step"] > 0 for row in rows)


def test_the_directions_im2col_convolution_equals_lax_conv():
    """experiments/bench/cpu_directions.py times convolutions written as one GEMM: the same numbers."""
    import jax
    import numpy as np

    from experiments.bench.cpu_directions import im2col_conv

    rng = np.random.default_rng(0)
    for H, C, O, k, s, p in [(17, 3, 5, 11, 4, 2), (9, 4, 6, 3, 1, 1), (8, 2, 3, 5, 1, 2)]:
        x, w = rng.normal(size=(2, H, H, C)).astype(np.float32), rng.normal(size=(k, k, C, O)).astype(np.float32)
        ref = jax.lax.conv_general_dilated(x, w, (s, s), [(p, p), (p, p)], dimension_numbers=("NHWC", "HWIO", "NHWC"))
        np.testing.assert_allclose(im2col_conv(x, w, s, p), ref, rtol=1e-5, atol=1e-4)


def test_make_bench_runs_the_bench_module():
    for extra, device in (([], "all"), (["DEVICE=gpu"], "gpu")):
        shown = subprocess.run(["make", "-n", "bench", "ACCEL=cpu", *extra], cwd=REPO, capture_output=True, text=True,
                               check=True).stdout
        assert "-e '.[bench]'" in shown and f"/python -m experiments.bench --device {device}\n" in shown


def test_the_guide_shows_the_latest_committed_tables():
    """docs/benchmarks.md shows each committed results file's table as the file has it."""
    guide = (pathlib.Path(REPO) / "docs/benchmarks.md").read_text()
    for name in ("bench_cpu.md", "dropout_cpu.md"):
        results = (pathlib.Path(REPO) / "experiments/results/bench" / name).read_text()
        table = [line for line in results.splitlines() if line.startswith("|")]
        assert len(table) >= 3 and "\n".join(table) in guide, name
