"""The two commands end to end (in this process, through ``lectarch.cli.main``): what they print and save."""

import json

import pytest

from lectarch.cli import main


def test_inspect_prints_and_saves_jaxpr_histogram_costs_and_hlo(tmp_path, capsys, repo_root):
    out = tmp_path / "inspect"
    code = main(["inspect", "--config", f"{repo_root}/experiments/configs/mlp_digits.py", "--what", "train_step",
                 "--save", str(out), "--hlo", "--config.model.depth=1"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "dot_general" in printed and "FLOPs" in printed and "peak memory" in printed
    record = json.loads((out / "train_step.json").read_text())
    assert record["histogram"]["dot_general"] == 5  # 2 layers: 2 forward, 2 dL/dW, 1 dL/dx
    assert record["costs"]["flops"] > 0 and record["costs"]["peak_memory_bytes"] > 0
    assert record["costs"]["compile_seconds"] > 0
    assert "dot_general" in (out / "train_step.jaxpr.txt").read_text()
    assert "func.func public @main" in (out / "train_step.stablehlo.mlir").read_text()
    assert "HloModule" in (out / "train_step.optimized_hlo.txt").read_text()


def test_gradflow_writes_every_probe_of_a_recurrent_model(tmp_path, repo_root):
    out = tmp_path / "gradflow"
    code = main(["gradflow", "--config", f"{repo_root}/experiments/configs/gradflow_vanishing.py", "--out", str(out),
                 "--times", "1,10", "--batch-size", "8", "--config.data.T=10", "--config.model.hidden=4"])
    assert code == 0
    for probe in ("layers", "time", "jacobian"):
        for ext in ("png", "csv", "json"):
            assert (out / f"{probe}.{ext}").stat().st_size > 0
    time_rows = json.loads((out / "time.json").read_text())
    assert [row["t"] for row in time_rows] == list(range(1, 11)) and {"0.h", "0.c"} <= set(time_rows[0])
    jac = json.loads((out / "jacobian.json").read_text())
    assert {row["t"] for row in jac} == {1, 10}
    assert all(abs(row["singular_value"] - 1) < 1e-5 for row in jac if row["t"] == 10)  # dh_T/dh_T = I
    assert list((out / "tensorboard").glob("events.*"))


def test_gradflow_refuses_time_probes_on_a_model_without_time():
    from lectarch.cli.gradflow import _probes
    from lectarch.config import ConfigError

    assert _probes("auto", recurrent=False) == ["layers"]
    assert _probes("auto", recurrent=True) == ["layers", "time", "jacobian"]
    with pytest.raises(ConfigError, match="recurrent"):
        _probes("layers,time", recurrent=False)
    with pytest.raises(ConfigError, match="unknown"):
        _probes("depth", recurrent=True)
