"""The inspection guide's program, nan and edge-of-chaos commands run as written (small sizes)."""

import json

from tests.docs.guides import run_documented

GUIDE = "docs/inspection.md"


def test_inspection_guide_program_and_nan_probes(tmp_path, capsys):
    command = "lectarch gradflow --config experiments/configs/adding_lstm.py --probe program --out runs/gf_program"
    assert run_documented(GUIDE, command, tmp_path, "--batch-size", "4", "--config.data.T=8",
                          "--config.model.hidden=4") == 0
    rows = json.loads((tmp_path / "gf_program" / "program.json").read_text())
    inside = [r for r in rows if r["module"] == "stack.forward.0" and r["steps"] == "8"]
    assert len(inside) >= 15 and all(r["line"].startswith("lectarch/") for r in inside)
    assert (tmp_path / "gf_program" / "program.png").stat().st_size > 0
    modules = json.loads((tmp_path / "gf_program" / "program_modules.json").read_text())
    assert [m["module"] for m in modules] == ["(root)", "stack.forward.0", "head"]
    command = "lectarch gradflow --config experiments/configs/mlp_digits.py --probe nan --out runs/gf_nan"
    assert run_documented(GUIDE, command, tmp_path, "--batch-size", "8") == 0
    assert "the loss and the gradient are finite" in capsys.readouterr().out
    assert (tmp_path / "gf_nan" / "nan.txt").read_text().startswith("the loss and the gradient are finite")


def test_inspection_guide_edge_of_chaos(tmp_path):
    out = tmp_path / "eoc"
    assert run_documented(GUIDE, "python -m experiments.edge_of_chaos", tmp_path, "--depth", "8", "--width", "16",
                          "--seeds", "1", "--out", str(out)) == 0
    text = (out / "edge_of_chaos.md").read_text()
    for title in ("deep tanh MLP", "deep ReLU MLP", "tanh RNN through time"):
        assert f"## {title}" in text
    assert "| 0 | 1.0000 |" in text and "| 0.5 | 1.4142 |" in text  # tanh's closed form; ReLU's line
    assert "load average" in text
    data = json.loads((out / "edge_of_chaos.json").read_text())
    assert len(data["tanh_mlp"]["growth"]) == 8 and len(data["tanh_mlp"]["growth"][0]) == 26
