"""`lectarch conv-example`: the worked example prints, and agrees with XLA."""

from lectarch.cli import main


def test_worked_example_agrees_with_xla(capsys):
    assert main(["conv-example", "--size", "6", "--kernel", "3", "--stride", "2", "--padding", "1"]) == 0
    out = capsys.readouterr().out
    assert "output size = floor((6 + 2*1 - (1*(3-1) + 1)) / 2) + 1 = 3" in out
    assert out.count("gives the same: True") == 2  # convolution and pooling


def test_one_dimensional_example(capsys):
    assert main(["conv-example", "--dims", "1", "--size", "8", "--dilation", "2", "--pool", "0"]) == 0
    out = capsys.readouterr().out
    assert "y[i] = sum_k x_pad[s*i + d*k] * w[k]" in out and "gives the same: True" in out


def test_kernel_larger_than_the_input_is_an_error(capsys):
    assert main(["conv-example", "--size", "3", "--kernel", "5"]) == 2
    assert "does not fit" in capsys.readouterr().err
