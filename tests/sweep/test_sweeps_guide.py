"""The sweeps guide's vmapped command, run as shown (few steps, ``runs/`` in a temporary folder)."""

import json

from tests.docs.guides import run_documented

VMAPPED = ("lectarch sweep --vmapped --config experiments/configs/mlp_digits.py "
           "--space experiments/sweeps/mlp_digits_lr.py --workdir runs/vmapped_lr "
           "--config.num_steps=300 --config.eval_every=100")


def test_the_vmapped_sweep_runs_as_shown(tmp_path, capsys):
    fast = ("--config.num_steps=2", "--config.eval_every=2", "--config.log_every=2", "--config.model.width=16")
    assert run_documented("docs/sweeps.md", VMAPPED, tmp_path, *fast) == 0
    out = capsys.readouterr().out
    trials = sorted((tmp_path / "vmapped_lr").glob("trial_*"))
    assert len(trials) == 8 and out.count("trial ") == 8  # the 8 VMAPPED trials of the space file
    for d in trials:
        rows = [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in rows if r["split"] == "eval"] == [2]
    hp = json.loads((trials[3] / "hyperparameters.json").read_text())
    assert hp == {"learning_rate": 3e-3, "seed": 1}  # VMAPPED's order: learning rate x seed
