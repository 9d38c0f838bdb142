"""Mean-field theory of signal propagation in deep random networks: the order-to-chaos line.

A deep network with pre-activations h^l = W^l phi(h^{l-1}) + b^l, weights W_ij ~ N(0, sigma_w^2 / N)
and biases b_i ~ N(0, sigma_b^2), in the limit of wide layers (Poole et al. 2016; Schoenholz et
al. 2017). The length of a signal, q^l = mean_i (h_i^l)^2, follows the variance map

    q^l = sigma_w^2 E_z[phi(sqrt(q^{l-1}) z)^2] + sigma_b^2,        z ~ N(0, 1),

to a fixed point q*. A backpropagated gradient is multiplied per layer, in mean square, by

    chi_1 = sigma_w^2 E_z[phi'(sqrt(q*) z)^2],

so ||dL/dh^l|| shrinks (chi_1 < 1: the ordered phase, vanishing gradients) or grows (chi_1 > 1:
chaos, exploding gradients) geometrically with depth, by sqrt(chi_1) per layer; chi_1 = 1 is the
edge of chaos. Closed forms: for tanh at sigma_b = 0, q* = 0 up to sigma_w = 1 and chi_1 = sigma_w^2
there, so the line meets sigma_b = 0 at sigma_w = 1; for ReLU, E[phi'^2] = 1/2 whatever q*, so the
line is sigma_w^2 = 2 for every sigma_b (He initialisation). Expectations over z are Gauss-Hermite
quadratures with an even number of nodes (exact for polynomials of degree < 2n; for ReLU the
symmetric nodes make E[1(z > 0)] = 1/2 and E[relu(z)^2] = 1/2 exactly).
"""

import functools
from collections.abc import Callable

import numpy as np

NODES = 200


def _tanh_prime(x):
    return 1.0 - np.tanh(x) ** 2


ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh": (np.tanh, _tanh_prime),
    "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(np.float64)),
}


@functools.lru_cache(maxsize=8)
def _nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.hermite.hermgauss(n)
    return np.sqrt(2.0) * x, w / np.sqrt(np.pi)


def gaussian_expectation(f: Callable, n: int = NODES) -> float:
    """E[f(z)], z ~ N(0, 1), by Gauss-Hermite quadrature: (1/sqrt(pi)) sum_i w_i f(sqrt(2) x_i)."""
    z, w = _nodes(n)
    return float(np.sum(w * f(z)))


def variance_map(q: float, sigma_w: float, sigma_b2: float, activation: str = "tanh") -> float:
    """One layer of the variance map: sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2."""
    phi, _ = ACTIVATIONS[activation]
    return sigma_w ** 2 * gaussian_expectation(lambda z: phi(np.sqrt(q) * z) ** 2) + sigma_b2


def fixed_point(sigma_w: float, sigma_b2: float, activation: str = "tanh", q_max: float = 1e12) -> float:
    """q*, the largest fixed point of the variance map (bisection on q -> map(q) - q; ``inf`` where it
    diverges, as ReLU's does for sigma_w^2 >= 2). At sigma_b = 0 and sigma_w <= 1 (tanh) it is 0."""
    g = lambda q: variance_map(q, sigma_w, sigma_b2, activation) - q  # noqa: E731
    lo = max(sigma_b2, 1e-300)
    if g(lo) <= 0:  # map(q) <= q already at the smallest possible q: the fixed point is there (0 or sigma_b^2)
        return sigma_b2
    hi = max(1.0, 2 * lo)
    while g(hi) > 0:
        hi *= 2
        if hi > q_max:
            return float("inf")
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if g(mid) > 0 else (lo, mid)
    return 0.5 * (lo + hi)


def chi_1(sigma_w: float, sigma_b2: float, activation: str = "tanh") -> float:
    """sigma_w^2 E[phi'(sqrt(q*) z)^2]: the mean-square growth of a backpropagated gradient per layer."""
    _, dphi = ACTIVATIONS[activation]
    q = min(fixed_point(sigma_w, sigma_b2, activation), 1e12)  # ReLU's phi' does not depend on the scale
    return sigma_w ** 2 * gaussian_expectation(lambda z: dphi(np.sqrt(q) * z) ** 2)


def critical_sigma_w(sigma_b2: float, activation: str = "tanh", lo: float = 0.05, hi: float = 6.0) -> float:
    """The sigma_w at which chi_1 = 1 (bisection: chi_1 grows with sigma_w)."""
    f = lambda s: chi_1(s, sigma_b2, activation) - 1.0  # noqa: E731
    if f(lo) > 0 or f(hi) < 0:
        raise ValueError(f"chi_1 - 1 does not change sign on [{lo}, {hi}] for sigma_b^2={sigma_b2}, {activation}")
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    return 0.5 * (lo + hi)


def critical_line(sigma_b2s, activation: str = "tanh") -> np.ndarray:
    """critical_sigma_w for each sigma_b^2."""
    return np.array([critical_sigma_w(float(b), activation) for b in sigma_b2s])
