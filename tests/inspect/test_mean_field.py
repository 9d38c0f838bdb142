"""The mean-field order-to-chaos line: closed forms (tanh at sigma_b = 0, ReLU) and an independent
quadrature of the expectations."""

import numpy as np
import pytest

from lectarch.inspect import mean_field as mf

SIGMA_B2 = (0.0, 0.01, 0.05, 0.1, 0.2, 0.5)


def _dense(f):  # E[f(z)] by a fine trapezoid rule on [-12, 12]: an independent quadrature
    z = np.linspace(-12, 12, 240001)
    return np.trapezoid(f(z) * np.exp(-z * z / 2) / np.sqrt(2 * np.pi), z)


def test_tanh_critical_sigma_w_at_zero_bias_is_exactly_one():
    assert mf.critical_sigma_w(0.0, "tanh") == pytest.approx(1.0, abs=1e-6)
    assert mf.fixed_point(0.9, 0.0, "tanh") == 0.0 and mf.chi_1(0.9, 0.0, "tanh") == pytest.approx(0.81, rel=1e-12)


def test_relu_line_is_sigma_w_squared_two_for_every_bias():
    np.testing.assert_allclose(mf.critical_line(SIGMA_B2, "relu") ** 2, 2.0, rtol=1e-9)
    assert mf.fixed_point(1.2, 0.1, "relu") == pytest.approx(0.1 / (1 - 1.2 ** 2 / 2), rel=1e-9)  # q = s^2 q/2 + b
    assert mf.fixed_point(1.5, 0.1, "relu") == float("inf")


def test_tanh_line_rises_with_the_bias_and_is_a_fixed_point_with_chi_1_one():
    line = mf.critical_line(SIGMA_B2, "tanh")
    assert np.all(np.diff(line) > 0) and 1.5 < line[-1] < 2.0
    for sb2, sw in zip(SIGMA_B2[1:], line[1:]):
        q = mf.fixed_point(sw, sb2, "tanh")
        assert sw ** 2 * _dense(lambda z: np.tanh(np.sqrt(q) * z) ** 2) + sb2 == pytest.approx(q, rel=1e-9)
        assert sw ** 2 * _dense(lambda z: (1 - np.tanh(np.sqrt(q) * z) ** 2) ** 2) == pytest.approx(1.0, rel=1e-7)
