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


def test_default_1d_example_is_an_edge_detector_whose_max_pooling_ignores_a_one_step_shift(capsys):
    import numpy as np

    from lectarch.cli.conv_example import inputs

    assert main(["conv-example", "--dims", "1"]) == 0
    out = capsys.readouterr().out
    x, w = inputs("edge", 1, 10, 2, 0)
    y = np.correlate(x, w, mode="valid")  # NumPy's cross-correlation, the reference
    assert y.tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0]  # flat input: zero; the step: one peak
    assert f"output y (9):\n  [{' '.join(f'{v:g}' for v in y)}]" in out
    pooled = y[:8].reshape(4, 2).max(axis=1)
    assert f"[{' '.join(f'{v:g}' for v in pooled)}]\nlax.reduce_window gives the same: True" in out
    assert "the same as before the shift: True" in out


def test_a_shift_across_a_pooling_window_changes_the_pooled_output(capsys):
    assert main(["conv-example", "--dims", "1", "--size", "9"]) == 0  # the peak at 3: the shift crosses a border
    assert "the same as before the shift: False" in capsys.readouterr().out
