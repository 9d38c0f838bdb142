"""The encoder-decoder Transformer's training step: lectarch vs plain JAX vs PyTorch ``nn.Transformer``.

CPU: 2+2 layers, d_model 256, 4 heads, d_ff 1024, B=16, S=T=64, vocabulary 1000, in float32 and
in bfloat16 (PyTorch: autocast). GPU: the paper's ``base`` model (6+6 layers, d_model 512, 8 heads,
d_ff 2048), B=64, S=T=256, vocabulary 32000, bfloat16; plain JAX with XLA's attention and, where
JAX sees a GPU, cuDNN's (``--tiny``: the ``QUICK`` sizes). Every implementation: embeddings *
sqrt(d) + sinusoidal positions, post-norm layers, causal decoder self-attention, separate output
projection, softmax cross-entropy, plain SGD; no dropout here (``rows/dropout.py`` has it on).
"""

import math

import numpy as np

from experiments.bench.rows import Case, gpu_present, lectarch_step, quick, tiny, torch_device

CPU = dict(B=16, S=64, d=256, h=4, ff=1024, n=2, V=1000)
GPU = dict(B=64, S=256, d=512, h=8, ff=2048, n=6, V=32000)
QUICK = dict(B=4, S=16, d=64, h=4, ff=128, n=1, V=100)
LR = 1e-3


def train_flops(B, S, d, h, ff, n, V) -> float:
    """Matmul FLOPs of one step (forward x 3): projections, feed-forward, attention, output layer."""
    del h
    proj = 2 * B * S * (n * (4 * d * d + 2 * d * ff) + n * (8 * d * d + 2 * d * ff) + d * V)
    attn = 4 * B * S * S * d * (n + 2 * n)
    return 3.0 * (proj + attn)


def _batch(B, S, V, seed=0):
    rng = np.random.default_rng(seed)
    tok = lambda: rng.integers(3, V, (B, S)).astype(np.int32)  # noqa: E731 - no padding
    return tok(), tok(), tok()


def _lectarch(size: dict, dtype: str, kind: str = "lean", dropout: float = 0.0, prng: str = "threefry"):
    def setup():

        from lectarch.config import base_config
        from lectarch.data.spec import DataSpec
        from lectarch.models.transformer import default_config
        from lectarch.train.objectives import classification
        from lectarch.train.state import init_state

        cfg = base_config()
        cfg.prng_impl = prng  # the random bits of the dropout masks (config.prng_impl)
        cfg.optimizer.name, cfg.learning_rate = "sgd", LR
        cfg.model = default_config()
        m = cfg.model
        m.d_model, m.num_heads, m.d_ff = size["d"], size["h"], size["ff"]
        m.num_encoder_layers = m.num_decoder_layers = size["n"]
        m.dropout, m.max_len, m.dtype = dropout, size["S"], dtype
        graphdef, state, tx = init_state(cfg, DataSpec((size["S"],), size["V"], max_len=size["S"]))
        src, tgt_in, tgt_out = _batch(size["B"], size["S"], size["V"])
        return lectarch_step(cfg, graphdef, state, tx, classification,
                             {"inputs": {"src": src, "tgt_in": tgt_in}, "targets": tgt_out}, kind=kind)

    return setup


def _plain_jax(size: dict, dtype: str, attention: str = "xla", dropout: float = 0.0, prng: str = "threefry2x32"):
    """The same Transformer in plain JAX; ``attention``: ``jax.nn.dot_product_attention``'s
    implementation; ``dropout`` on sub-layer outputs and embedding sums (as the paper and lectarch),
    masks from JAX's ``prng`` implementation, step ``i``'s key ``fold_in(key(0), i)``."""

    def setup():
        import jax
        import jax.numpy as jnp

        B, S, d, h, ff, n, V = (size[k] for k in ("B", "S", "d", "h", "ff", "n", "V"))
        dt = jnp.bfloat16 if dtype == "bfloat16" else jnp.float32
        keys = iter(jax.random.split(jax.random.PRNGKey(0), 1000))
        dense = lambda a, b: {"w": jax.random.normal(next(keys), (a, b)) / math.sqrt(a), "b": jnp.zeros(b)}  # noqa: E731
        norm = lambda: {"g": jnp.ones(d), "b": jnp.zeros(d)}  # noqa: E731
        attn = lambda: {k: dense(d, d) for k in "qkvo"}  # noqa: E731
        params = {
            "src_emb": jax.random.normal(next(keys), (V, d)) / math.sqrt(d),
            "tgt_emb": jax.random.normal(next(keys), (V, d)) / math.sqrt(d),
            "enc": [{"att": attn(), "ff1": dense(d, ff), "ff2": dense(ff, d), "n1": norm(), "n2": norm()} for _ in range(n)],
            "dec": [{"att": attn(), "cross": attn(), "ff1": dense(d, ff), "ff2": dense(ff, d), "n1": norm(),
                     "n2": norm(), "n3": norm()} for _ in range(n)],
            "out": dense(d, V),
        }
        pos = np.arange(S)[:, None] / np.power(10000.0, np.arange(0, d, 2)[None] / d)
        pe = np.zeros((S, d), np.float32)
        pe[:, 0::2], pe[:, 1::2] = np.sin(pos), np.cos(pos)
        pe = jnp.asarray(pe)

        def lin(p, x):
            return x @ p["w"].astype(dt) + p["b"].astype(dt)

        def ln(p, x):
            x32 = x.astype(jnp.float32)
            mu = x32.mean(-1, keepdims=True)
            var = ((x32 - mu) ** 2).mean(-1, keepdims=True)
            return ((x32 - mu) * jax.lax.rsqrt(var + 1e-6) * p["g"] + p["b"]).astype(dt)

        def mha(p, x, mem, causal):
            split = lambda t: t.reshape(B, t.shape[1], h, d // h)  # noqa: E731
            o = jax.nn.dot_product_attention(split(lin(p["q"], x)), split(lin(p["k"], mem)), split(lin(p["v"], mem)),
                                             is_causal=causal, implementation=attention)
            return lin(p["o"], o.reshape(B, x.shape[1], d))

        def loss_fn(params, src, tgt_in, tgt_out, key):
            keys = iter(jax.random.split(key, 3 + 2 * n + 3 * n))

            def drop(h):
                if dropout == 0:
                    return h
                keep = jax.random.bernoulli(next(keys), 1 - dropout, h.shape)
                return jnp.where(keep, h / (1 - dropout), 0).astype(h.dtype)

            x = drop((params["src_emb"][src] * math.sqrt(d) + pe).astype(dt))
            for p in params["enc"]:
                x = ln(p["n1"], x + drop(mha(p["att"], x, x, False)))
                x = ln(p["n2"], x + drop(lin(p["ff2"], jax.nn.relu(lin(p["ff1"], x)))))
            y = drop((params["tgt_emb"][tgt_in] * math.sqrt(d) + pe).astype(dt))
            for p in params["dec"]:
                y = ln(p["n1"], y + drop(mha(p["att"], y, y, True)))
                y = ln(p["n2"], y + drop(mha(p["cross"], y, x, False)))
                y = ln(p["n3"], y + drop(lin(p["ff2"], jax.nn.relu(lin(p["ff1"], y)))))
            logits = lin(params["out"], y).astype(jnp.float32)
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), tgt_out[..., None], -1))

        def train_step(params, src, tgt_in, tgt_out, key, i):
            loss, g = jax.value_and_grad(loss_fn)(params, src, tgt_in, tgt_out, jax.random.fold_in(key, i))
            return jax.tree.map(lambda p, g: p - LR * g, params, g), loss

        train_step = jax.jit(train_step, donate_argnums=0)
        batch = [jnp.asarray(a) for a in _batch(B, S, V)]
        holder = {"p": params, "i": 0, "key": jax.random.key(0, impl=prng)}

        def step():
            holder["i"] += 1
            holder["p"], loss = train_step(holder["p"], *batch, holder["key"], holder["i"])
            loss.block_until_ready()

        return step

    return setup


def _torch(size: dict, dtype: str, device: str, dropout: float = 0.0):
    """``nn.Transformer`` (its dropout also acts on attention weights and inside the feed-forward)."""

    def setup():
        import torch

        B, S, d, h, ff, n, V = (size[k] for k in ("B", "S", "d", "h", "ff", "n", "V"))
        dev = torch_device(device)
        torch.manual_seed(0)

        class Model(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.src_emb, self.tgt_emb = torch.nn.Embedding(V, d), torch.nn.Embedding(V, d)
                self.core = torch.nn.Transformer(d, h, n, n, ff, dropout=dropout, batch_first=True)
                self.drop = torch.nn.Dropout(dropout)
                self.out = torch.nn.Linear(d, V)
                pos = np.arange(S)[:, None] / np.power(10000.0, np.arange(0, d, 2)[None] / d)
                pe = np.zeros((S, d), np.float32)
                pe[:, 0::2], pe[:, 1::2] = np.sin(pos), np.cos(pos)
                self.register_buffer("pe", torch.from_numpy(pe))
                self.register_buffer("causal", torch.nn.Transformer.generate_square_subsequent_mask(S))

            def forward(self, src, tgt_in):
                x = self.drop(self.src_emb(src) * math.sqrt(d) + self.pe)
                y = self.drop(self.tgt_emb(tgt_in) * math.sqrt(d) + self.pe)
                return self.out(self.core(x, y, tgt_mask=self.causal, tgt_is_causal=True))

        model = Model().to(dev)
        opt = torch.optim.SGD(model.parameters(), lr=LR)
        src, tgt_in, tgt_out = (torch.from_numpy(a).long().to(dev) for a in _batch(B, S, V))
        amp = torch.autocast(device_type=dev, dtype=torch.bfloat16, enabled=dtype == "bfloat16")

        def step():
            opt.zero_grad(set_to_none=True)
            with amp:
                logits = model(src, tgt_in)
            torch.nn.functional.cross_entropy(logits.float().reshape(-1, V), tgt_out.reshape(-1)).backward()
            opt.step()
            if dev == "cuda":
                torch.cuda.synchronize()

        return step

    return setup


def _work(size: dict, dtype: str) -> str:
    return (f"Transformer {size['n']}+{size['n']} d{size['d']} h{size['h']} ff{size['ff']} B={size['B']} "
            f"S={size['S']} V={size['V']} {'bf16' if dtype == 'bfloat16' else 'f32'} SGD")


def cases(args) -> list[Case]:
    cpu = QUICK if quick(args) else CPU
    out = []
    for dtype in ("float32", "bfloat16"):
        work = _work(cpu, dtype)
        flops = train_flops(**cpu)
        out += [Case(work, "lectarch", _lectarch(cpu, dtype), flops, repeats=10),
                Case(work, "lectarch, logging step", _lectarch(cpu, dtype, kind="logging"), flops, repeats=10),
                Case(work, "plain JAX", _plain_jax(cpu, dtype), flops, repeats=10),
                Case(work, "PyTorch", _torch(cpu, dtype, "cpu"), flops, repeats=10)]
    gpu = QUICK if tiny(args) else GPU
    work = _work(gpu, "bfloat16")
    flops = train_flops(**gpu)
    out += [Case(work, "lectarch", _lectarch(gpu, "bfloat16"), flops, device="gpu"),
            Case(work, "plain JAX, XLA attention", _plain_jax(gpu, "bfloat16"), flops, device="gpu")]
    if gpu_present():
        out.append(Case(work, "plain JAX, cuDNN attention", _plain_jax(gpu, "bfloat16", "cudnn"), flops, device="gpu"))
    out.append(Case(work, "PyTorch nn.Transformer + autocast", _torch(gpu, "bfloat16", "gpu"), flops, device="gpu"))
    return out
