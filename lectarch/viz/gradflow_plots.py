"""Pictures of gradient flow and program size: each function returns a matplotlib Figure (Agg).

- ``layer_norms_figure``: ||dL/dW_l|| against layer l, one curve per model (the depth experiment);
- ``time_norms_figure``: ||dL/dh_t|| against t, one curve per model (vanishing/exploding in time);
- ``singular_values_figure``: the singular values of dh_T/dh_t for a few t;
- ``training_figure``: loss and gradient norm against step (training with and without clipping);
- ``scan_vs_unroll_figure``: jaxpr size, compile time and step time against sequence length T.
"""

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _log_safe(y) -> np.ndarray:
    y = np.asarray(y, np.float64)
    return np.where(y > 0, y, np.nan)


def layer_norms_figure(curves: Mapping[str, Sequence[tuple[str, float]]], title: str = "") -> plt.Figure:
    """``curves``: label -> [(layer name, gradient norm), ...] in layer order (input first)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    names: list[str] = []
    for label, rows in curves.items():
        layers = [r[0] for r in rows]
        names = layers if len(layers) > len(names) else names
        ax.semilogy(np.arange(len(rows)), _log_safe([r[1] for r in rows]), "o-", ms=3, label=label)
    step = max(1, len(names) // 12)
    ax.set_xticks(np.arange(len(names))[::step])
    ax.set_xticklabels(names[::step], rotation=45, ha="right", fontsize=7)
    ax.set_xlabel("layer (input -> output)")
    ax.set_ylabel("||dL/dW_l||")
    ax.set_title(title or "gradient norm per layer")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def time_norms_figure(curves: Mapping[str, np.ndarray], title: str = "", ylabel: str = "||dL/dh_t||",
                      colors: Mapping[str, str] | None = None) -> plt.Figure:
    """``curves``: label -> norms over t = 1..T (one value per time step); ``colors``: label -> colour,
    to keep a model's colour across figures."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, norms in curves.items():
        norms = np.asarray(norms)
        ax.semilogy(np.arange(1, len(norms) + 1), _log_safe(norms), label=label,
                    color=(colors or {}).get(label))
    ax.set_xlabel("time step t")
    ax.set_ylabel(ylabel)
    ax.set_title(title or "gradient of the loss with respect to the hidden state")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def singular_values_figure(svals: Mapping[int, np.ndarray], title: str = "") -> plt.Figure:
    """``svals``: t -> singular values of dh_T/dh_t (descending)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for t, s in sorted(svals.items()):
        ax.semilogy(np.arange(1, len(s) + 1), _log_safe(s), "o-", ms=2, label=f"t = {t}")
    ax.set_xlabel("index i")
    ax.set_ylabel("singular value sigma_i of dh_T/dh_t")
    ax.set_title(title or "singular values of the product of step Jacobians")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def training_figure(runs: Mapping[str, Mapping[str, Sequence[float]]], keys: Sequence[str] = ("loss", "grad_norm"),
                    title: str = "") -> plt.Figure:
    """``runs``: label -> {"step": [...], key: [...]}; one panel per key, log scale."""
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.8))
    for ax, key in zip(np.atleast_1d(axes), keys):
        for label, run in runs.items():
            ax.semilogy(run["step"], _log_safe(run[key]), label=label)
        ax.set_xlabel("step")
        ax.set_ylabel(key)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def scan_vs_unroll_figure(rows: Sequence[Mapping], title: str = "") -> plt.Figure:
    """``rows``: dicts with ``impl`` ("scan" | "unroll"), ``T``, ``jaxpr_equations``, ``compile_s``, ``step_ms``."""
    panels = (("jaxpr_equations", "jaxpr equations"), ("compile_s", "compile time (s)"), ("step_ms", "step time (ms)"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (key, label) in zip(axes, panels):
        for impl in sorted({r["impl"] for r in rows}):
            mine = sorted((r for r in rows if r["impl"] == impl and r.get(key) is not None), key=lambda r: r["T"])
            ax.loglog([r["T"] for r in mine], [r[key] for r in mine], "o-", label=impl)
        ax.set_xlabel("sequence length T")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title or "lax.scan against a Python-loop unroll")
    fig.tight_layout()
    return fig
