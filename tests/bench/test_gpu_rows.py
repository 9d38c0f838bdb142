"""``python -m experiments.bench --device gpu``: the GPU rows are the reference work at full size,
with their peers beside lectarch; at tiny shapes (``--tiny``) they run on the CPU."""

import argparse
import json
import pathlib
import subprocess
import sys

from experiments.bench import run as bench
from tests.helpers import REPO, cli_env

FULL = argparse.Namespace(quick=False, tiny=False)
LSTM = "B=64 T=256 in 512 hidden 1024"


def _gpu_cases(args) -> dict[str, set[str]]:
    from experiments.bench.rows import recurrent, sweep, transformer
    from experiments.bench.rows import alexnet

    works: dict[str, set[str]] = {}
    for module in (recurrent, transformer, alexnet, sweep):
        for case in module.cases(args):
            if case.device == "gpu":
                works.setdefault(case.work, set()).add(case.impl)
    return works


def test_device_gpu_runs_the_gpu_rows_and_writes_the_results_file_by_default():
    args = bench.parse(["--device", "gpu"])
    assert args.only == bench.GPU_ROWS == "recurrent,transformer,alexnet,sweep"
    assert (args.md, args.json) == ("experiments/results/bench/bench_gpu.md", "experiments/results/bench/bench_gpu.json")
    mine = bench.parse(["--device", "gpu", "--md", "x.md", "--only", "alexnet"])
    assert (mine.md, mine.json, mine.only) == ("x.md", "", "alexnet")
    tiny = bench.parse(["--device", "gpu", "--tiny"])
    assert tiny.quick and (tiny.md, tiny.json) == ("", "") and tiny.rounds == 3


def test_the_gpu_rows_are_the_reference_work_with_peers_beside_lectarch():
    works = _gpu_cases(FULL)
    for peep in ("no peepholes", "with peepholes"):
        for dtype, unroll in (("f32", 8), ("bf16", 16)):
            impls = works[f"LSTM {peep} {LSTM} {dtype} SGD"]
            assert {"lectarch", f"plain JAX, hoisted, unroll={unroll}", "PyTorch nn.LSTM (cuDNN) f32, no peepholes"} <= impls
    assert "plain JAX, W x inside the scan" in works[f"LSTM no peepholes {LSTM} f32 SGD"]
    assert "PyTorch nn.LSTM (cuDNN) + autocast" in works[f"LSTM no peepholes {LSTM} bf16 SGD"]
    assert works["Transformer 6+6 d512 h8 ff2048 B=64 S=256 V=32000 bf16 SGD"] >= {
        "lectarch", "plain JAX, XLA attention", "PyTorch nn.Transformer + autocast"}
    assert works["AlexNet (lecture) B=256 224x224 bf16 SGD"] == {
        "lectarch", "plain JAX, NHWC", "PyTorch, channels_last + autocast"}
    assert works["64 LSTM trials (hidden 128, T=200, B=32) x 20 SGD steps"] == {
        "lectarch", "lectarch, one trial after another", "plain JAX, jax.vmap over trials",
        "plain JAX, one trial after another", "PyTorch nn.LSTM, one trial after another"}
    assert len(works) == 7


def test_the_gpu_rows_run_at_tiny_shapes_on_the_cpu(tmp_path):
    out, md = tmp_path / "gpu.json", tmp_path / "gpu.md"
    r = subprocess.run([sys.executable, "-m", "experiments.bench", "--device", "gpu", "--tiny", "--no-torch",
                        "--rounds", "1", "--warmup", "0", "--lead-in", "0", "--threads", "1", "--json", str(out),
                        "--md", str(md)], cwd=REPO, env=cli_env(1), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    ran: dict[str, set[str]] = {}
    for row in rows:
        assert row["device"] == "gpu (ran on cpu, --tiny)" and row["rounds"] == 1 and row["ms_per_step"] > 0
        ran.setdefault(row["work"], set()).add(row["impl"])
    tiny = argparse.Namespace(quick=True, tiny=True)
    expected = {w: {i for i in impls if not i.startswith("PyTorch")} for w, impls in _gpu_cases(tiny).items()}
    assert ran == expected and len(ran) == 7
    text = md.read_text()
    assert text.startswith("# Training-step benchmark") and "- command: `python -m experiments.bench --device gpu" in text
    assert "- versions: python" in text and "- machine: " in text and "- load average (1 min)" in text
    assert "- JAX backend: cpu" in text
    assert not (pathlib.Path(REPO) / "experiments/results/bench/bench_gpu.md").exists()
