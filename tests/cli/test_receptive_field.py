"""`lectarch receptive-field`: the table for a config's CNN, and the measured check."""

from lectarch.cli import main


def test_alexnet_table_at_224(capsys):
    assert main(["receptive-field", "--config", "experiments/configs/alexnet_imagenette.py"]) == 0
    out = capsys.readouterr().out
    assert "alexnet at 224x224" in out
    pool3 = next(line for line in out.splitlines() if line.startswith("pool3"))
    assert pool3.split("|")[1].split() == ["6", "227", "32", "82"]


def test_cnn_digits_table_with_measured_check(capsys):
    assert main(["receptive-field", "--config", "experiments/configs/cnn_digits.py", "--check"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n  ok ") == 4 and "MISMATCH" not in out


def test_a_model_without_convolutions_is_an_error(capsys):
    assert main(["receptive-field", "--config", "experiments/configs/mlp_digits.py"]) == 2
    assert "no convolution/pooling layers" in capsys.readouterr().err
    assert main(["receptive-field", "--config", "experiments/configs/mlp_digits.py", "--size", "8"]) == 2
    assert "no convolution" in capsys.readouterr().err  # the MLP has no ReceptiveFields capability
