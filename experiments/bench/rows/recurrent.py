"""Recurrent training steps: lectarch's LSTM (with and without peepholes) and Elman RNN beside
PyTorch's nn.LSTM / nn.RNN and a plain-JAX lax.scan; and the scan's compile time against T.

Every implementation computes the same thing: one recurrent layer over (B, T, in), a linear head
to one output per step, MSE against random targets, backward, SGD. CPU rows use the reference
sizes B=32, T=128, in 128, hidden 256, f32; GPU rows B=64, T=256, in 512, hidden 1024 in f32 and
bf16 matmuls with scan unrolling, beside cuDNN's LSTM (PyTorch's, and jax.experimental.rnn where JAX
sees a GPU; ``--tiny``: B=4, T=8, in 16, hidden 32). lectarch rows run the real train step
(``lectarch.train.step``): the default (explicit BPTT, input projection inside the step on CPU),
the projection hoisted out of the scan, and jax.grad of the scan (autodiff BPTT).
"""

import numpy as np

from experiments.bench.rows import Case, gpu_present, lectarch_step, quick, tiny, torch_device


def _lectarch(name: str, variant: str, B: int, T: int, D: int, H: int, projection: str = "auto",
              unroll: int = 1, dtype: str = "float32", bptt: str = "explicit", kind: str = "lean"):
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
        m.family, m.hidden, m.variant, m.projection, m.unroll, m.dtype, m.bptt = (
            "many_to_many", H, variant, projection, unroll, dtype, bptt)
        graphdef, state, tx = init_state(cfg, DataSpec((T, D), 1))
        rng = np.random.default_rng(0)
        batch = {"inputs": rng.normal(size=(B, T, D)).astype(np.float32),
                 "targets": rng.normal(size=(B, T)).astype(np.float32)}
        return lectarch_step(cfg, graphdef, state, tx, regression, batch, kind=kind)

    return setup


def _plain_jax(cell: str, B: int, T: int, D: int, H: int, *, hoisted: bool = False, unroll: int = 1,
               dtype: str = "float32", peepholes: bool = False):
    """A textbook lax.scan, jax.grad for BPTT: ``x_t @ W + h @ R`` inside the step, or with ``hoisted``
    ``X @ W`` as one matmul before the scan; matmuls in ``dtype`` accumulating in f32 (f32 carry);
    with ``peepholes`` the LSTM's ``p_i * c``, ``p_f * c`` and ``p_o * c_new`` terms."""

    def setup():
        import jax
        import jax.numpy as jnp

        G = 4 * H if cell == "lstm" else H
        cdt = jnp.bfloat16 if dtype == "bfloat16" else jnp.float32
        k = jax.random.split(jax.random.PRNGKey(0), 4)
        params = {"W": jax.random.normal(k[0], (D, G)) / np.sqrt(D), "R": jax.random.normal(k[1], (H, G)) / np.sqrt(H),
                  "b": jnp.zeros((1, G)), "V": jax.random.normal(k[2], (H, 1)) / np.sqrt(H)}
        if peepholes:
            params["p"] = 0.1 * jax.random.normal(k[3], (3, H))

        def mm(a, w):
            return jnp.dot(a.astype(cdt), w.astype(cdt), preferred_element_type=jnp.float32)

        def forward(p, x_TxBxD):
            def lstm(carry, in_t):
                h, c = carry
                z, i, f, o = jnp.split((in_t if hoisted else mm(in_t, p["W"]) + p["b"]) + mm(h, p["R"]), 4, axis=-1)
                if peepholes:
                    i, f = i + p["p"][0] * c, f + p["p"][1] * c
                c = jnp.tanh(z) * jax.nn.sigmoid(i) + c * jax.nn.sigmoid(f)
                h = jnp.tanh(c) * jax.nn.sigmoid(o + p["p"][2] * c if peepholes else o)
                return (h, c), h

            def rnn(carry, in_t):
                h = jnp.tanh((in_t if hoisted else mm(in_t, p["W"]) + p["b"]) + mm(carry[0], p["R"]))
                return (h, h), h

            zeros = jnp.zeros((x_TxBxD.shape[1], H))
            xs = mm(x_TxBxD, p["W"]) + p["b"] if hoisted else x_TxBxD
            _, y_TxBxH = jax.lax.scan(lstm if cell == "lstm" else rnn, (zeros, zeros), xs, unroll=unroll)
            return y_TxBxH @ p["V"]

        @jax.jit
        def train_step(p, x, y):
            loss, g = jax.value_and_grad(lambda p: jnp.mean((forward(p, jnp.swapaxes(x, 0, 1))[..., 0] - y.T) ** 2))(p)
            return jax.tree.map(lambda a, b: a - 0.01 * b, p, g), loss

        return _sgd_steps(train_step, params, B, T, D)

    return setup


def _sgd_steps(train_step, params, B: int, T: int, D: int):
    """``step()``: one ``train_step(params, x, y) -> (params, loss)`` of a plain-JAX row on fixed random
    data, waiting for its result."""
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(B, T, D)), jnp.float32)
    y = jnp.asarray(rng.normal(size=(B, T)), jnp.float32)
    holder = {"p": params}

    def step():
        holder["p"], loss = train_step(holder["p"], x, y)
        loss.block_until_ready()

    return step


def _jax_cudnn(B: int, T: int, D: int, H: int):
    """``jax.experimental.rnn.lstm``: cuDNN's LSTM (f32, no peepholes), GPU only."""

    def setup():
        import jax
        import jax.numpy as jnp
        from jax.experimental import rnn

        k = jax.random.split(jax.random.PRNGKey(0), 2)
        params = {"w": rnn.init_lstm_weight(k[0], D, H, 1, False), "V": jax.random.normal(k[1], (H, 1)) / np.sqrt(H)}
        zeros, lengths = jnp.zeros((1, B, H)), jnp.full((B,), T, jnp.int32)

        @jax.jit
        def train_step(p, x, y):
            def loss(p):
                y_BxTxH, _, _ = rnn.lstm(x, zeros, zeros, p["w"], lengths, D, H, 1, 0.0, False)
                return jnp.mean(((y_BxTxH @ p["V"])[..., 0] - y) ** 2)

            value, g = jax.value_and_grad(loss)(p)
            return jax.tree.map(lambda a, b: a - 0.01 * b, p, g), value

        return _sgd_steps(train_step, params, B, T, D)

    return setup


def _torch(cell: str, B: int, T: int, D: int, H: int, device: str = "cpu", dtype: str = "float32"):
    """PyTorch's nn.LSTM / nn.RNN (cuDNN on a GPU; ``bfloat16``: under autocast)."""

    def setup():
        import torch

        dev = torch_device(device)
        rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.RNN)(D, H, batch_first=True).to(dev)
        head = torch.nn.Linear(H, 1).to(dev)
        opt = torch.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=0.01)
        x, y = torch.randn(B, T, D, device=dev), torch.randn(B, T, device=dev)
        amp = torch.autocast(device_type=dev, dtype=torch.bfloat16, enabled=dtype == "bfloat16")

        def step():
            opt.zero_grad(set_to_none=True)
            with amp:
                out, _ = rnn(x)
                loss = torch.nn.functional.mse_loss(head(out)[..., 0].float(), y)
            loss.backward()
            opt.step()
            if dev == "cuda":
                torch.cuda.synchronize()

        return step

    return setup


def _flops(cell: str, B: int, T: int, D: int, H: int) -> float:
    G = 4 * H if cell == "lstm" else H
    return 6.0 * B * T * (D + H) * G  # forward + two backward matmuls per weight


def cases(args) -> list[Case]:
    B, T, D, H = (8, 16, 32, 64) if quick(args) else (32, 128, 128, 256)
    out = []
    for cell, variant, label in (("lstm", "NP", "LSTM, no peepholes"), ("lstm", "full", "LSTM with peepholes"),
                                 ("rnn", "full", "Elman RNN tanh")):
        name = "lstm" if cell == "lstm" else "rnn"
        work = f"{label} B={B} T={T} in {D} hidden {H} f32 SGD"
        f = _flops(cell, B, T, D, H)
        out.append(Case(work, "lectarch", _lectarch(name, variant, B, T, D, H, "inside"), f))
        out.append(Case(work, "lectarch, logging step", _lectarch(name, variant, B, T, D, H, "inside", kind="logging"), f))
        out.append(Case(work, "lectarch, hoisted W x", _lectarch(name, variant, B, T, D, H, "hoisted"), f))
        out.append(Case(work, "lectarch, autodiff BPTT", _lectarch(name, variant, B, T, D, H, "inside", bptt="autodiff"), f))
        if variant != "full" or cell == "rnn":  # the peers have no peepholes
            out.append(Case(work, "plain JAX", _plain_jax(cell, B, T, D, H), f))
            out.append(Case(work, "PyTorch", _torch(cell, B, T, D, H), f))
    # compile time against sequence length (small sizes: the first call is nearly all compilation)
    # the first compilation in a process pays one-time costs: a warm-up row takes them
    out.append(Case("LSTM compile + 1 step, warm-up (one-time costs), T=10", "lectarch",
                    _lectarch("lstm", "full", 8, 10, 32, 64), repeats=1))
    for t in ((10, 100) if quick(args) else (10, 100, 1000)):
        out.append(Case(f"LSTM compile + 1 step, T={t} (B=8, hidden 64)", "lectarch",
                        _lectarch("lstm", "full", 8, t, 32, 64), repeats=3))
    return out + _gpu_cases(args)


def _gpu_cases(args) -> list[Case]:
    """B=64, T=256, in 512, hidden 1024; f32 and bf16 matmuls (f32 carry), with and without
    peepholes; the input projection hoisted out of the scan, unrolled 8 (f32) or 16 (bf16) steps.
    Every work has PyTorch's cuDNN LSTM in f32 beside it: the peepholes and bf16 rows compare with it."""
    B, T, D, H = (4, 8, 16, 32) if tiny(args) else (64, 256, 512, 1024)
    fl = _flops("lstm", B, T, D, H)
    out = []
    for variant, label in (("NP", "no peepholes"), ("full", "with peepholes")):
        peep = variant == "full"
        for dtype, short, unroll in (("float32", "f32", 8), ("bfloat16", "bf16", 16)):
            work = f"LSTM {label} B={B} T={T} in {D} hidden {H} {short} SGD"
            out += [Case(work, "lectarch", _lectarch("lstm", variant, B, T, D, H, "hoisted", unroll, dtype), fl, "gpu"),
                    Case(work, f"plain JAX, hoisted, unroll={unroll}",
                         _plain_jax("lstm", B, T, D, H, hoisted=True, unroll=unroll, dtype=dtype, peepholes=peep), fl, "gpu"),
                    Case(work, "PyTorch nn.LSTM (cuDNN) f32, no peepholes", _torch("lstm", B, T, D, H, "gpu"), fl, "gpu")]
            if not peep and dtype == "float32":
                out.append(Case(work, "plain JAX, W x inside the scan", _plain_jax("lstm", B, T, D, H), fl, "gpu"))
                if gpu_present():
                    out.append(Case(work, "jax.experimental.rnn (cuDNN)", _jax_cudnn(B, T, D, H), fl, "gpu"))
            if not peep and dtype == "bfloat16":
                out.append(Case(work, "PyTorch nn.LSTM (cuDNN) + autocast", _torch("lstm", B, T, D, H, "gpu", dtype),
                                fl, "gpu"))
    return out
