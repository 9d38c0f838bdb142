"""The edge of chaos at initialisation: the gradient's growth per layer over (sigma_w, sigma_b^2), against mean-field theory.

    python -m experiments.edge_of_chaos [--depth 50] [--width 128] [--seeds 4] [--out DIR]

For a deep MLP h^l = W^l phi(h^{l-1}) + b^l with W_ij ~ N(0, sigma_w^2 / width), b_i ~ N(0, sigma_b^2)
(tanh, then ReLU), and a tanh RNN h_t = tanh(R h_{t-1} + u_t) with R_ij ~ N(0, sigma_w^2 / width) and
inputs u_t ~ N(0, sigma_b^2) through ``depth`` steps: ||dL/dh_l|| for every layer (step) from one
backward pass (a zero added to every h_l, ``lectarch.inspect.timeflow``'s trick), for a random
readout L = r . h_L. The measured growth per layer is the slope of log ||dL/dh_l|| from the output
back to the input (layers 5..depth: past the transient of the variance map); mean-field theory
(``lectarch.inspect.mean_field``) predicts 0.5 log chi_1, zero on the order-to-chaos line chi_1 = 1.
Every grid point and seed of a model is one program: ``jax.vmap`` over the grid, one ``jit``; the
weights are one draw per seed, scaled by each grid point's sigma_w (common random numbers).

Writes ``edge_of_chaos.md`` (the predicted and measured critical sigma_w for sigma_b^2 in
{0, 0.01, 0.05, 0.1, 0.2, 0.5}), ``edge_of_chaos_<model>.png`` and ``edge_of_chaos.json`` into
``--out`` (default: experiments/results/inspect/edge_of_chaos).
Runtime: under a minute of CPU time at the defaults (three compiled programs); the results file gives the wall
time and the machine load it was measured at.
"""

import argparse
import json
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments.results_file import Measurement, write_results
from lectarch.inspect import mean_field
from lectarch.viz.gradflow_plots import phase_diagram_figure

OUT = pathlib.Path(__file__).resolve().parent / "results" / "inspect" / "edge_of_chaos"
TABLE_SIGMA_B2 = (0.0, 0.01, 0.05, 0.1, 0.2, 0.5)
SIGMA_B2 = (0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
SIGMA_W = tuple(np.round(np.arange(0.5, 3.0001, 0.1), 2))
MODELS = {"tanh_mlp": ("tanh", jnp.tanh, "deep tanh MLP"), "relu_mlp": ("relu", jax.nn.relu, "deep ReLU MLP"),
          "tanh_rnn": ("tanh", jnp.tanh, "tanh RNN through time")}
SKIP = 5  # layers (steps) of transient before the variance has reached its fixed point


def draws(key, depth: int, width: int, batch: int) -> dict:
    """One seed's standard normal draws, shared by every grid point (scaled by sigma_w, sigma_b)."""
    k = jax.random.split(key, 4)
    return {"Z_LxNxN": jax.random.normal(k[0], (depth, width, width)) / np.sqrt(width),
            "z_LxBxN": jax.random.normal(k[1], (depth, batch, width)),  # biases (MLP, per layer) or inputs (RNN, per step)
            "x_BxN": jax.random.normal(k[2], (batch, width)),
            "r_BxN": jax.random.normal(k[3], (batch, width))}


def backward_norms(phi, recurrent: bool, sigma_w, sigma_b2, d: dict) -> jax.Array:
    """||dL/dh_l|| for l = 1..depth, one backward pass through zeros added to every h_l."""
    depth = d["Z_LxNxN"].shape[0]

    def loss(pert_LxBxN):
        def layer(h_BxN, per_layer):
            Z, z, p = per_layer
            W = sigma_w * (d["Z_LxNxN"][0] if recurrent else Z)  # an RNN reuses one R at every step
            h_BxN = phi(h_BxN) @ W + jnp.sqrt(sigma_b2) * z + p
            return h_BxN, None

        h0 = d["x_BxN"] if not recurrent else jnp.zeros_like(d["x_BxN"])
        h_L, _ = jax.lax.scan(layer, h0, (d["Z_LxNxN"], d["z_LxBxN"], pert_LxBxN))
        return jnp.sum(h_L * d["r_BxN"])

    g_LxBxN = jax.grad(loss)(jnp.zeros((depth,) + d["x_BxN"].shape))
    scale_L = jnp.max(jnp.abs(g_LxBxN), axis=(1, 2))  # the sum of squares alone overflows float32 in deep chaos
    safe_L = jnp.where(scale_L > 0, scale_L, 1.0)
    return scale_L * jnp.sqrt(jnp.sum((g_LxBxN / safe_L[:, None, None]) ** 2, axis=(1, 2)))


def growth(norms_L: jax.Array) -> jax.Array:
    """Mean log growth of ||dL/dh_l|| per layer from the output back to the input (past ``SKIP``)."""
    logs = jnp.log(norms_L[SKIP - 1:])
    return (logs[0] - logs[-1]) / (logs.shape[0] - 1)


def measure(model: str, depth: int, width: int, seeds: int, batch: int) -> np.ndarray:
    """Growth per layer over (sigma_b^2, sigma_w), averaged over seeds: one compiled program."""
    _, phi, _ = MODELS[model]
    recurrent = model.endswith("rnn")
    sw, sb = np.meshgrid(np.array(SIGMA_W), np.array(SIGMA_B2))

    @jax.jit
    def grid(sw_BxW, sb_BxW, keys):
        d = jax.vmap(lambda k: draws(k, depth, width, batch))(keys)
        one = lambda w, b, dd: growth(backward_norms(phi, recurrent, w, b, dd))  # noqa: E731
        over_seeds = jax.vmap(one, in_axes=(None, None, 0))
        over_grid = jax.vmap(jax.vmap(over_seeds, in_axes=(0, 0, None)), in_axes=(0, 0, None))
        return over_grid(sw_BxW, sb_BxW, d).mean(-1)

    keys = jax.random.split(jax.random.key(0), seeds)
    return np.asarray(grid(jnp.asarray(sw, jnp.float32), jnp.asarray(sb, jnp.float32), keys), np.float64)


def crossing(growth_W: np.ndarray) -> float:
    """The sigma_w where the growth turns from negative to positive (linear interpolation); nan if none."""
    s = np.asarray(SIGMA_W)
    for i in range(len(s) - 1):
        a, b = growth_W[i], growth_W[i + 1]
        if np.isfinite(a) and np.isfinite(b) and a < 0 <= b:
            return float(s[i] + (s[i + 1] - s[i]) * (-a) / (b - a))
    return float("nan")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--depth", type=int, default=50, help="layers (MLP) or time steps (RNN)")
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    measurement = Measurement()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results, sections = {}, []
    for model, (activation, _, title) in MODELS.items():
        t0 = time.perf_counter()
        g_BxW = measure(model, args.depth, args.width, args.seeds, args.batch)
        seconds = time.perf_counter() - t0
        theory = mean_field.critical_line(SIGMA_B2, activation)
        measured = np.array([crossing(row) for row in g_BxW])
        results[model] = {"sigma_w": list(SIGMA_W), "sigma_b2": list(SIGMA_B2), "growth": g_BxW.tolist(),
                          "predicted": theory.tolist(), "measured": measured.tolist(), "seconds": seconds}
        fine_b2 = np.linspace(0.0, max(SIGMA_B2), 26)
        lines = {"mean-field theory: chi_1 = 1": (mean_field.critical_line(fine_b2, activation), fine_b2)}
        ok = np.isfinite(measured)
        lines["measured: growth = 0"] = (measured[ok], np.array(SIGMA_B2)[ok])
        fig = phase_diagram_figure(np.array(SIGMA_W), np.array(SIGMA_B2), g_BxW, lines,
                                   f"{title}: depth {args.depth}, width {args.width}, {args.seeds} seeds",
                                   "log growth of ||dL/dh_l|| per layer" if "mlp" in model else
                                   "log growth of ||dL/dh_t|| per step, back in time")
        fig.savefig(out / f"edge_of_chaos_{model}.png", dpi=110)
        rows = ["| sigma_b^2 | critical sigma_w, mean-field theory | measured (growth = 0) |", "|---|---|---|"]
        for b, th, me in zip(SIGMA_B2, theory, measured):
            if b in TABLE_SIGMA_B2:
                rows.append(f"| {b:g} | {th:.4f} | {me:.3f} |")
        sections.append(f"## {title}\n\n![{model}](edge_of_chaos_{model}.png)\n\n" + "\n".join(rows) +
                        f"\n\nOne compiled program over {len(SIGMA_W)} x {len(SIGMA_B2)} grid points x {args.seeds} "
                        f"seeds: {seconds:.1f} s (compile included).\n")
        print(f"{title}: " + ", ".join(f"sb2={b:g}: theory {th:.3f}, measured {me:.3f}"
                                       for b, th, me in zip(SIGMA_B2, theory, measured)))
    (out / "edge_of_chaos.json").write_text(json.dumps(results, indent=1) + "\n")
    intro = (f"Growth per layer of the backpropagated gradient at initialisation, log(||dL/dh_(l-1)|| / ||dL/dh_l||) "
             f"averaged over layers {SKIP}..{args.depth}, against the order-to-chaos line of mean-field theory "
             f"(chi_1 = 1; `lectarch.inspect.mean_field`). Width {args.width}, depth {args.depth}, batch {args.batch}, "
             f"{args.seeds} seeds. For the RNN, sigma_w scales the recurrent matrix R (one R for every step) and "
             f"sigma_b^2 is the variance of the input drive u_t; the theory line is the untied-weights one.\n")
    write_results(out / "edge_of_chaos.md", "The edge of chaos: critical sigma_w, predicted and measured",
                  intro + "\n" + "\n".join(sections), measurement)
    print(f"results in {out / 'edge_of_chaos.md'}")
    return 0


if __name__ == "__main__":
    from experiments.script import run_script

    run_script(main, "python -m experiments.edge_of_chaos")
