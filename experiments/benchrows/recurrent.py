"""Recurrent training steps: lectarch's LSTM (with and without peepholes) and Elman RNN beside
PyTorch's nn.LSTM / nn.RNN and a plain-JAX lax.scan; and the scan's compile time against T.

Every implementation computes the same thing: one recurrent layer over (B, T, in), a linear head
to one output per step, MSE against random targets, backward, SGD. CPU rows use the reference
sizes B=32, T=128, in 128, hidden 256, f32; GPU rows B=64, T=256, in 512,
hidden 1024 in f32 and bf16 matmuls with scan unrolling. lectarch rows run the real train step
(``lectarch.train.step``): the default (explicit BPTT, input projection inside the step on CPU),
the projection hoisted out of the scan, and jax.grad of the scan (autodiff BPTT).
"""

import numpy as np

from experiments.benchrows import Case, lectarch_step


def _lectarch(name: str, variant: str, B: int, T: int, D: int, H: int, projection: str = "auto",
              unroll: int = 1, matmul_dtype: str = "float32", bptt: str = "explicit", lean: bool = True):
    def setup():

        from lectarch.config import base_config
        from lectarch.data.spec import DataSpec
        from lectarch.models.recurrent import default_config
        from lectarch.train.objectives import regression
        from lectarch.train.state import init_state

        cfg = base_config()
        cfg.optimizer.name, cfg.learning_rate, cfg.objective = "sgd", 0.01, "regression"
        cfg.model = default_config(name)
        m = cfg.model
        m.family, m.hidden, m.variant, m.projection, m.unroll, m.matmul_dtype, m.bptt = (
            "many_to_many", H, variant, projection, unroll, matmul_dtype, bptt)
        graphdef, state, tx = init_state(cfg, DataSpec((T, D), 1))
        rng = np.random.default_rng(0)
        batch = {"inputs": rng.normal(size=(B, T, D)).astype(np.float32),
                 "targets": rng.normal(size=(B, T)).astype(np.float32)}
        return lectarch_step(graphdef, state, tx, regression, batch, lean=lean)

    return setup


def _plain_jax(cell: str, B: int, T: int, D: int, H: int):
    """A textbook lax.scan: x_t @ W + h @ R inside the step, jax.grad for BPTT."""

    def setup():
        import jax
        import jax.numpy as jnp

        G = 4 * H if cell == "lstm" else H
        k = jax.random.split(jax.random.PRNGKey(0), 3)
        params = {"W": jax.random.normal(k[0], (D, G)) / np.sqrt(D), "R": jax.random.normal(k[1], (H, G)) / np.sqrt(H),
                  "b": jnp.zeros((1, G)), "V": jax.random.normal(k[2], (H, 1)) / np.sqrt(H)}

        def forward(p, x_TxBxD):
            def lstm(carry, x_t):
                h, c = carry
                z, i, f, o = jnp.split(x_t @ p["W"] + h @ p["R"] + p["b"], 4, axis=-1)
                c = jnp.tanh(z) * jax.nn.sigmoid(i) + c * jax.nn.sigmoid(f)
                h = jnp.tanh(c) * jax.nn.sigmoid(o)
                return (h, c), h

            def rnn(carry, x_t):
                h = jnp.tanh(x_t @ p["W"] + carry[0] @ p["R"] + p["b"])
                return (h, h), h

            zeros = jnp.zeros((x_TxBxD.shape[1], H))
            _, y = jax.lax.scan(lstm if cell == "lstm" else rnn, (zeros, zeros), x_TxBxD)
            return y @ p["V"]

        @jax.jit
        def train_step(p, x, y):
            loss, g = jax.value_and_grad(lambda p: jnp.mean((forward(p, jnp.swapaxes(x, 0, 1))[..., 0] - y.T) ** 2))(p)
            return jax.tree.map(lambda a, b: a - 0.01 * b, p, g), loss

        rng = np.random.default_rng(0)
        x = jnp.asarray(rng.normal(size=(B, T, D)), jnp.float32)
        y = jnp.asarray(rng.normal(size=(B, T)), jnp.float32)
        holder = {"p": params}

        def step():
            holder["p"], loss = train_step(holder["p"], x, y)
            loss.block_until_ready()

        return step

    return setup


def _torch(cell: str, B: int, T: int, D: int, H: int):
    def setup():
        import torch

        rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.RNN)(D, H, batch_first=True)
        head = torch.nn.Linear(H, 1)
        opt = torch.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=0.01)
        x, y = torch.randn(B, T, D), torch.randn(B, T)

        def step():
            opt.zero_grad(set_to_none=True)
            out, _ = rnn(x)
            torch.nn.functional.mse_loss(head(out)[..., 0], y).backward()
            opt.step()

        return step

    return setup


def _flops(cell: str, B: int, T: int, D: int, H: int) -> float:
    G = 4 * H if cell == "lstm" else H
    return 6.0 * B * T * (D + H) * G  # forward + two backward matmuls per weight


def cases(args) -> list[Case]:
    B, T, D, H = (8, 16, 32, 64) if args.quick else (32, 128, 128, 256)
    out = []
    for cell, variant, label in (("lstm", "NP", "LSTM, no peepholes"), ("lstm", "full", "LSTM with peepholes"),
                                 ("rnn", "full", "Elman RNN tanh")):
        name = "lstm" if cell == "lstm" else "rnn"
        work = f"{label} B={B} T={T} in {D} hidden {H} f32 SGD"
        f = _flops(cell, B, T, D, H)
        out.append(Case(work, "lectarch", _lectarch(name, variant, B, T, D, H, "inside"), f))
        out.append(Case(work, "lectarch, logging step", _lectarch(name, variant, B, T, D, H, "inside", lean=False), f))
        out.append(Case(work, "lectarch, hoisted W x", _lectarch(name, variant, B, T, D, H, "hoisted"), f))
        out.append(Case(work, "lectarch, autodiff BPTT", _lectarch(name, variant, B, T, D, H, "inside", bptt="autodiff"), f))
        if variant != "full" or cell == "rnn":  # the peers have no peepholes
            out.append(Case(work, "plain JAX", _plain_jax(cell, B, T, D, H), f))
            out.append(Case(work, "PyTorch", _torch(cell, B, T, D, H), f))
    # compile time against sequence length (small sizes: the first call is nearly all compilation)
    # the first compilation in a process pays one-time costs (~6 s here): a warm-up row takes them
    out.append(Case("LSTM compile + 1 step, warm-up (one-time costs), T=10", "lectarch",
                    _lectarch("lstm", "full", 8, 10, 32, 64), repeats=1))
    for t in ((10, 100) if args.quick else (10, 100, 1000)):
        out.append(Case(f"LSTM compile + 1 step, T={t} (B=8, hidden 64)", "lectarch",
                        _lectarch("lstm", "full", 8, t, 32, 64), repeats=3))
    # GPU: the ANCHORS sizes, f32 and bf16 matmuls, hoisted projection and unrolled scans
    Bg, Tg, Dg, Hg = 64, 256, 512, 1024
    fg = _flops("lstm", Bg, Tg, Dg, Hg)
    for variant, label in (("NP", "no peepholes"), ("full", "with peepholes")):
        work = f"LSTM {label} B={Bg} T={Tg} in {Dg} hidden {Hg}"
        out.append(Case(work + " f32", "lectarch", _lectarch("lstm", variant, Bg, Tg, Dg, Hg, "hoisted", 8), fg, "gpu"))
        out.append(Case(work + " bf16", "lectarch", _lectarch("lstm", variant, Bg, Tg, Dg, Hg, "hoisted", 16, "bfloat16"),
                        fg, "gpu"))
    out.append(Case(f"LSTM no peepholes B={Bg} T={Tg} in {Dg} hidden {Hg} f32", "plain JAX",
                    _plain_jax("lstm", Bg, Tg, Dg, Hg), fg, "gpu"))
    return out
