"""Every shell command the README and the guides show, run as shown (few steps, ``runs/`` in a
temporary directory); each test is named in the ``Tested by:`` line under its block."""

import json
import subprocess

import pytest

from tests.docs.guides import REPO, documented, run_documented

pytestmark = pytest.mark.slow
FEW = ("--config.num_steps=6", "--config.log_every=3", "--config.eval_every=6", "--config.checkpoint_every=6",
       "--config.progress=false")
# One device, as on a laptop, where a guide command is not about devices (this process sees 8, and
# sharding a few steps over them only adds compile time)
ONE = "--config.num_devices=1"


def steps_logged(workdir, split="train"):
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    return [r["step"] for r in rows if r["split"] == split]


def test_readme_quickstart_targets(tmp_path):
    documented("README.md", "make run")
    documented("README.md", "make test")
    run = subprocess.run(["make", "-n", "run", f"WORKDIR={tmp_path}/mlp"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    assert f"lectarch train --config experiments/configs/mlp_digits.py --workdir {tmp_path}/mlp" in run
    test = subprocess.run(["make", "-n", "test"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "-m pytest -q" in test
    install = subprocess.run(["make", "-n", "-B", "install"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "-e '.[test,notebooks,postgres,dashboard]'" in install
    # what `make run` runs, for a few steps
    from lectarch.cli import main

    assert main(["train", "--config", "experiments/configs/mlp_digits.py", "--workdir", f"{tmp_path}/mlp", *FEW]) == 0
    assert (tmp_path / "mlp" / "config.json").is_file()


def test_training_guide_runs_and_resumes(tmp_path):
    guide = "docs/training.md"
    first = "lectarch train --config experiments/configs/mlp_digits.py --workdir runs/mlp_digits"
    assert run_documented(guide, first, tmp_path, *FEW) == 0
    workdir = tmp_path / "mlp_digits"
    assert steps_logged(workdir) == [3, 6]
    assert {"accuracy", "loss"} <= set(json.loads((workdir / "metrics.jsonl").read_text().splitlines()[-1]))
    assert json.loads((workdir / "config.json").read_text())["num_steps"] == 6
    # the second command resumes the same run at step 6 (the guide's 2000 steps shortened to 9)
    resume = first + " --config.num_steps=2000"
    assert run_documented(guide, resume, tmp_path, *FEW, "--config.num_steps=9") == 0
    assert steps_logged(workdir) == [3, 6, 9]


def test_training_guide_config_errors(tmp_path, capsys):
    guide = "docs/training.md"
    base = "lectarch train --config experiments/configs/mlp_digits.py --workdir runs/typo"
    assert run_documented(guide, base + " --config.lerning_rate=0.1", tmp_path) == 2
    assert capsys.readouterr().err.strip().endswith(
        "unknown config key config.lerning_rate; did you mean config.learning_rate?")
    assert run_documented(guide, base + " --config.learning_rate=-1", tmp_path) == 2
    assert "config.learning_rate=-1.0 is out of range: must be a number > 0" in capsys.readouterr().err
    assert not (tmp_path / "typo" / "metrics.jsonl").exists()


def test_training_guide_eight_cpu_devices(tmp_path):
    command = ("XLA_FLAGS=--xla_force_host_platform_device_count=8 lectarch train --config "
               "experiments/configs/mlp_digits.py --workdir runs/mlp_8 --config.num_devices=8")
    # a subprocess (XLA_FLAGS is read at start-up) that compiles with XLA's default code generation: a small MLP
    assert run_documented("docs/training.md", command, tmp_path, *FEW, "--config.pictures=false",
                          "--config.model.depth=1", "--config.model.width=16") == 0
    assert steps_logged(tmp_path / "mlp_8") == [3, 6]


def test_recurrent_guide_family_commands(tmp_path):
    small = {"family_one_to_many": ("--config.data.num_eval=64", "--config.eval_batch_size=64"),
             "deep_lstm_chars": ("--config.data.seq_len=16", "--config.data.eval_fraction=0.01",
                                 "--config.model.embed_dim=8", "--config.batch_size=16")}  # still 2 layers, dropout
    for name in ("family_one_to_many", "deep_lstm_chars"):
        command = f"lectarch train --config experiments/configs/{name}.py --workdir runs/{name}"
        assert run_documented("docs/recurrent.md", command, tmp_path, *FEW, ONE, "--config.model.hidden=8",
                              "--config.pictures=false", *small[name]) == 0
        assert steps_logged(tmp_path / name, "eval") == [6]


def assert_results_file(path, *row_starts):
    text = path.read_text()
    assert text.startswith("# ") and "- date: " in text and "- versions: python" in text and "- load average" in text
    for start in row_starts:
        assert any(line.startswith(start) for line in text.splitlines()), (start, text)


def test_recurrent_guide_adding_commands(tmp_path):
    guide = "docs/recurrent.md"
    command = ("lectarch train --config experiments/configs/adding_lstm.py --workdir runs/adding_lstm "
               "--config.data.T=100")
    small = ("--config.model.hidden=8", "--config.data.num_eval=64", "--config.eval_batch_size=64",
             "--config.pictures=false", ONE)
    assert run_documented(guide, command, tmp_path, *FEW, *small) == 0
    results = tmp_path / "rnn_vs_lstm.md"
    assert run_documented(guide, "python -m experiments.rnn_vs_lstm --workdir runs/rnn_vs_lstm", tmp_path,
                          "--T", "10", "--steps", "6", "--results", str(results), "--config.eval_every=6",
                          *small) == 0
    assert_results_file(results, "| 10 | LSTM |", "| 10 | tanh RNN |")


def test_recurrent_guide_variants_command(tmp_path):
    results = tmp_path / "variants.md"
    assert run_documented("docs/recurrent.md", "python -m experiments.lstm_variants --workdir runs/lstm_variants",
                          tmp_path, "--seeds", "0", "--steps", "6", "--variants", "full,CIFG", "--results",
                          str(results), "--config.eval_every=6", "--config.data.T=10", ONE) == 0
    assert_results_file(results, "| full |", "| CIFG |")


def test_transformer_guide_toy_task_commands(tmp_path, capsys):
    guide, workdir = "docs/transformer.md", tmp_path / "transformer_reverse"
    train = "lectarch train --config experiments/configs/transformer_reverse.py --workdir runs/transformer_reverse"
    # no pictures during training: the one checked below must come from `lectarch visualize`
    assert run_documented(guide, train, tmp_path, *FEW, ONE, "--config.model.num_encoder_layers=1",
                          "--config.model.num_decoder_layers=1", "--config.model.d_model=16",
                          "--config.model.num_heads=2", "--config.model.d_ff=32", "--config.data.eval_size=32",
                          "--config.data.decode_examples=8", "--config.eval_batch_size=8",
                          "--config.pictures=false") == 0
    assert not (workdir / "pictures").exists()
    capsys.readouterr()
    for command in ("lectarch decode --workdir runs/transformer_reverse",
                    "lectarch decode --workdir runs/transformer_reverse --beam 4"):
        # batches of 8 as in training's decode_metrics; --show 0: no extra one-example programs
        assert run_documented(guide, command, tmp_path, "--examples", "8", "--batch-size", "8", "--show", "0") == 0
        record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert record["step"] == 6 and record["examples"] == 8
    assert run_documented(guide, "lectarch visualize --workdir runs/transformer_reverse", tmp_path) == 0
    assert list((workdir / "pictures").glob("attention_cross_layer0_step6.png"))


def test_transformer_guide_mock_translation_command(tmp_path):
    guide = "docs/transformer.md"
    [command] = [c for c in _commands(guide) if "transformer_base_wmt14.py" in c]
    # the sizes of tests/data/test_translation.py's MOCK run (the same programs), no pictures
    small = ("--config.data.mock_examples=48", "--config.data.vocab_size=48", "--config.data.max_len=24",
             "--config.data.decode_examples=8", "--config.model.d_model=16", "--config.model.d_ff=32",
             "--config.batch_size=8", "--config.eval_batch_size=8", "--config.pictures=false", ONE)
    assert run_documented(guide, command, tmp_path, "--config.num_steps=3", "--config.eval_every=3",
                          "--config.log_every=3", "--config.checkpoint_every=3", "--config.progress=false",
                          *small) == 0
    evals = [json.loads(line) for line in (tmp_path / "wmt_mock" / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in evals if e["split"] == "eval"] == [3] and "bleu" in evals[-1]


def _commands(guide):
    from tests.docs.guides import shell_blocks

    return [c for b in shell_blocks(REPO / guide) for c in b["commands"]]


def test_inspection_guide_inspect_commands(tmp_path, capsys):
    guide = "docs/inspection.md"
    assert run_documented(guide, "lectarch inspect --config experiments/configs/mlp_digits.py --what train_step "
                                 "--top 8", tmp_path) == 0
    assert "FLOPs" in capsys.readouterr().out
    assert run_documented(guide, "lectarch inspect --config experiments/configs/alexnet_imagenette.py --mock-data "
                                 "--what forward", tmp_path, "--batch-size", "2") == 0
    assert "conv_general_dilated" in capsys.readouterr().out
    assert run_documented(guide, "lectarch inspect --config experiments/configs/adding_lstm.py --what train_step "
                                 "--save runs/inspect_lstm --hlo", tmp_path, "--config.data.T=10") == 0
    record = json.loads((tmp_path / "inspect_lstm" / "train_step.json").read_text())
    assert record["histogram"]["scan"] == 2  # forward and backpropagation through time
    assert (tmp_path / "inspect_lstm" / "train_step.optimized_hlo.txt").is_file()


def test_inspection_guide_gradflow_commands(tmp_path, capsys):
    guide = "docs/inspection.md"
    command = ("lectarch gradflow --config experiments/configs/deep_mlp.py --config.model.activation=sigmoid "
               "--out runs/gf_sigmoid")
    assert run_documented(guide, command, tmp_path) == 0
    rows = json.loads((tmp_path / "gf_sigmoid" / "layers.json").read_text())
    assert rows[0]["layer"] == "hidden.0" and rows[-1]["grad_norm"] > 1e3 * rows[0]["grad_norm"]  # vanishing
    command = ("lectarch gradflow --config experiments/configs/gradflow_vanishing.py --out runs/gf_vanishing "
               "--times 1,10,50")
    assert run_documented(guide, command, tmp_path, "--times", "1,10", "--batch-size", "8",
                          "--config.data.T=10", "--config.model.hidden=4") == 0
    assert (tmp_path / "gf_vanishing" / "time.png").stat().st_size > 0


def test_inspection_guide_experiment_scripts(tmp_path):
    guide = "docs/inspection.md"
    # no assert reads a picture drawn during training (the scripts' own figures are still drawn)
    few = ("--steps", "6", "--config.eval_every=6", "--config.log_every=3", "--config.checkpoint_every=6",
           "--config.pictures=false", ONE)
    small_rnn = ("--config.data.T=10", "--config.model.hidden=4",
                 "--config.data.num_eval=64", "--config.eval_batch_size=64")
    runs = {"depth": (*few, "--config.model.depth=3", "--config.model.width=16"),
            "vanishing": ("--models", "rnn,full", *few, *small_rnn),
            "exploding": (*few, *small_rnn),
            "scan_vs_unroll": ("--lengths", "4", "--unroll-max", "4", "--repeats", "1", "--hidden", "4", "--batch", "2")}
    rows = {"depth": ("| sigmoid |", "| relu |"), "vanishing": ("| tanh RNN |", "| LSTM |"),
            "exploding": ("| noclip |", "| clip |"), "scan_vs_unroll": ("| scan | 4 |", "| unroll | 4 |")}
    for name, extra in runs.items():
        results = tmp_path / f"{name}.md"
        command = f"python -m experiments.{name} --workdir runs/{name}"
        assert run_documented(guide, command, tmp_path, *extra, "--results", str(results)) == 0
        assert_results_file(results, *rows[name])
