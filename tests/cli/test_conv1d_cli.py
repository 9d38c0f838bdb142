"""`lectarch conv-example --example pool1d|rf1d` and `lectarch receptive-field` on 1-D models."""

from lectarch.cli import main


def test_pool1d_example_is_worked_by_hand_and_checked(capsys):
    assert main(["conv-example", "--example", "pool1d"]) == 0
    out = capsys.readouterr().out
    assert "max pooling     [3.0, 5.0, 4.0, 6.0]" in out  # x = [1, 3, 2, 5, 4, 0, 6, 1], window 2
    assert "average pooling [2.0, 3.5, 2.0, 3.5]" in out
    assert out.count("give the same: True") == 2


def test_rf1d_example_gives_the_slide_numbers_and_the_measurement_agrees(capsys):
    assert main(["conv-example", "--example", "rf1d"]) == 0
    out = capsys.readouterr().out
    assert "conv3  r = 6 + (3 - 1) * 2 = 10" in out
    assert "##########......" in out
    assert "closed form 1 + c (k - 1)(2^L - 1) = 1 + 1*2*7 = 15" in out
    assert "MISMATCH" not in out and out.count("\n  ok ") == 7


def test_tcn_receptive_field_table_with_measured_check(capsys):
    assert main(["receptive-field", "--config", "experiments/configs/tcn_adding.py", "--check"]) == 0
    out = capsys.readouterr().out
    assert "tcn at T=100" in out
    last = next(line for line in out.splitlines() if line.startswith("level6.conv2"))
    assert last.split("|")[1].split() == ["100", "253", "1", "252"]  # 1 + 2*2*(2^6 - 1)
    assert out.count("\n  ok ") == 12 and "MISMATCH" not in out


def test_1d_cnn_receptive_field_at_a_given_length(capsys):
    assert main(["receptive-field", "--config", "experiments/configs/cnn1d_digits.py", "--size", "40", "--check"]) == 0
    out = capsys.readouterr().out
    assert "cnn at T=40" in out and out.count("\n  ok ") == 4
