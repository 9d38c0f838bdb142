"""Pictures of gradient flow and program size: each function returns a matplotlib Figure (Agg).

- ``layer_norms_figure``: ||dL/dW_l|| against layer l, one curve per model (the depth experiment);
- ``time_norms_figure``: ||dL/dh_t|| against t, one curve per model (vanishing/exploding in time);
- ``singular_values_figure``: the singular values of dh_T/dh_t for a few t;
- ``training_figure``: loss and gradient norm against step (training with and without clipping);
- ``scan_vs_unroll_figure``: jaxpr size, compile time and step time against sequence length T;
- ``program_grads_figure``: ||dL/dv|| for every intermediate v of a program, in forward order,
  coloured by module (values inside a scan: the norm over all steps, and a bar from the smallest to
  the largest step);
- ``phase_diagram_figure``: a quantity over a (sigma_w, sigma_b^2) grid with lines drawn on it.
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


def program_grads_figure(rows: Sequence, title: str = "", depth: int = 3) -> plt.Figure:
    """``rows``: ``lectarch.inspect.program_grads.ProgramGrad`` in forward order; colours: the module
    path cut to its first ``depth`` parts. A second panel, when values sit inside a scan: their
    ||dL/dv_t|| against the step t."""
    stepped_all = [r for r in rows if len(r.site.steps) == 1]
    fig, axes = plt.subplots(1, 2 if stepped_all else 1, figsize=(14 if stepped_all else 10, 4.5),
                             gridspec_kw={"width_ratios": [2, 1]} if stepped_all else None)
    ax = np.atleast_1d(axes)[0]
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(".".join((r.site.module or "(root)").split(".")[:depth]), []).append(r)
    cmap = plt.get_cmap("tab20")
    colour = {name: cmap(c % 20) for c, name in enumerate(groups)}
    for name, members in groups.items():
        ax.semilogy([r.index for r in members], _log_safe([r.grad_norm for r in members]), "o", ms=3,
                    color=colour[name], label=name)
        stepped = [r for r in members if r.site.steps]
        if stepped:
            lo = _log_safe([np.min(r.grad_norm_t) for r in stepped])
            hi = _log_safe([np.max(r.grad_norm_t) for r in stepped])
            ax.vlines([r.index for r in stepped], lo, hi, color=colour[name], alpha=0.4, lw=1)
    ax.set_xlabel("intermediate value v, in forward order (bars: smallest to largest step of a scan)")
    ax.set_ylabel("||dL/dv||")
    ax.set_title(title or "gradient of the loss at every intermediate value")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=max(1, len(groups) // 10), loc="best")
    if stepped_all:
        ax2 = axes[1]
        prims = list(dict.fromkeys(r.site.primitive for r in stepped_all))
        tab10 = plt.get_cmap("tab10")
        for r in stepped_all:
            k = prims.index(r.site.primitive)
            ax2.semilogy(np.arange(1, r.site.steps[0] + 1), _log_safe(r.grad_norm_t), color=tab10(k % 10),
                         alpha=0.6, lw=1, label=r.site.primitive if r is next(x for x in stepped_all
                                                                              if x.site.primitive == r.site.primitive) else None)
        ax2.legend(fontsize=7, title="primitive", title_fontsize=7)
        ax2.set_xlabel("time step t")
        ax2.set_ylabel("||dL/dv_t||")
        ax2.set_title(f"the {len(stepped_all)} values inside the scan, per step")
        ax2.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def phase_diagram_figure(sigma_w: np.ndarray, sigma_b2: np.ndarray, value_BxW: np.ndarray,
                         lines: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str = "",
                         value_label: str = "log10 growth of ||dL/dh_l|| per layer") -> plt.Figure:
    """``value_BxW``: one value per (sigma_b^2, sigma_w); ``lines``: label -> (sigma_w, sigma_b^2) points."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    limit = float(np.nanmax(np.abs(value_BxW))) or 1.0
    mesh = ax.pcolormesh(sigma_w, sigma_b2, value_BxW, cmap="RdBu_r", vmin=-limit, vmax=limit, shading="nearest")
    fig.colorbar(mesh, ax=ax, label=value_label)
    styles = ["k-", "k--", "g-", "g--"]
    for style, (label, (w, b)) in zip(styles, lines.items()):
        ax.plot(w, b, style, lw=2, label=label)
    ax.set_xlabel("sigma_w (weights ~ N(0, sigma_w^2 / fan_in))")
    ax.set_ylabel("sigma_b^2 (biases ~ N(0, sigma_b^2))")
    ax.set_xlim(float(np.min(sigma_w)), float(np.max(sigma_w)))
    ax.set_ylim(float(np.min(sigma_b2)), float(np.max(sigma_b2)))
    ax.set_title(title or "order (blue: vanishing) and chaos (red: exploding)")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
