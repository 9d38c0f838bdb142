"""The training step of the lecture's AlexNet (and the small CNN): lectarch vs plain JAX vs PyTorch.

One step = forward with dropout (p=0.5 before fc1 and fc2), softmax cross-entropy, backward,
plain SGD update, on random images. CPU: batch 8 at 224x224, float32 (``--quick``: batch 2 at
127x127). GPU: batch 256 at 224x224, bfloat16 compute with float32 parameters; plain JAX in NHWC;
PyTorch channels_last + bf16 autocast (``--tiny``: batch 2 at 67x67).
"""

import numpy as np

from experiments.bench.rows import Case, lectarch_step, quick, tiny, torch_device

SLIDE = [  # (in, out, kernel, stride, padding); max pooling 3/2 after convolutions 1, 2 and 6
    (3, 64, 11, 4, 2), (64, 128, 5, 1, 2), (128, 192, 3, 1, 1), (192, 384, 3, 1, 1), (384, 256, 3, 1, 1),
    (256, 256, 3, 1, 1)]
POOL_AFTER = (0, 1, 5)
CLASSES = 1000
LR = 0.01


def _sizes(image: int) -> tuple[list[int], int]:
    """Output side of every convolution, and the side of the last (pooled) maps."""
    sides, n = [], image
    for i, (_, _, k, s, p) in enumerate(SLIDE):
        n = (n + 2 * p - k) // s + 1
        sides.append(n)
        if i in POOL_AFTER:
            n = (n - 3) // 2 + 1
    return sides, n


def flops(batch: int, image: int) -> float:
    """Forward multiply-adds x 2 flops x 3 (forward, input and weight gradients)."""
    sides, last = _sizes(image)
    macs = sum(n * n * k * k * i * o for (i, o, k, _, _), n in zip(SLIDE, sides))
    macs += 256 * last * last * 4096 + 4096 * 4096 + 4096 * CLASSES
    return 6.0 * batch * macs


def _data(batch: int, image: int):
    rng = np.random.default_rng(0)
    return rng.normal(size=(batch, image, image, 3)).astype(np.float32), rng.integers(0, CLASSES, batch).astype(np.int32)


def _lectarch(batch: int, image: int, dtype: str, model: str = "alexnet", kind: str = "lean",
              nonfinite_check: str | None = None, dropout: float | None = None, prng: str = "threefry"):
    def setup():

        from lectarch.config import base_config
        from lectarch.data.spec import DataSpec
        from lectarch.models import model_module
        from lectarch.train.objectives import classification
        from lectarch.train.state import init_state

        cfg = base_config()
        cfg.prng_impl = prng  # the random bits of the dropout masks (config.prng_impl)
        cfg.optimizer.name, cfg.learning_rate = "sgd", LR
        cfg.model = model_module(model).default_config()
        cfg.model.dtype = dtype
        if dropout is not None:
            cfg.model.dropout = dropout
        cfg.nonfinite_check = nonfinite_check or cfg.nonfinite_check
        graphdef, state, tx = init_state(cfg, DataSpec((image, image, 3), CLASSES))
        x, y = _data(batch, image)
        return lectarch_step(cfg, graphdef, state, tx, classification, {"inputs": x, "targets": y}, kind=kind)

    return setup


def _plain_jax(batch: int, image: int, dtype: str, conv=None, dropout: float = 0.5, prng: str = "threefry2x32"):
    """AlexNet in a page of JAX: NHWC, lax.conv_general_dilated, lax.reduce_window, SGD.

    ``conv(h, w, stride, padding)`` replaces ``lax.conv_general_dilated`` (experiments/bench/cpu_directions.py).
    ``dropout``: before fc1 and fc2, masks drawn with JAX's ``prng`` implementation, step ``i``'s
    key ``fold_in(key(0), i)``."""

    def setup():
        import jax
        import jax.numpy as jnp
        from jax import lax

        def xla_conv(h, w, s, p):
            return lax.conv_general_dilated(h, w, (s, s), [(p, p), (p, p)], dimension_numbers=("NHWC", "HWIO", "NHWC"))

        cdt = jnp.bfloat16 if dtype == "bfloat16" else jnp.float32
        _, last = _sizes(image)
        keys = iter(jax.random.split(jax.random.PRNGKey(0), 16))
        convs = [(jax.random.normal(next(keys), (k, k, i, o)) * (2 / (k * k * i)) ** 0.5, jnp.zeros(o))
                 for i, o, k, _, _ in SLIDE]
        dims = [256 * last * last, 4096, 4096, CLASSES]
        fcs = [(jax.random.normal(next(keys), (a, b)) * (2 / a) ** 0.5, jnp.zeros(b)) for a, b in zip(dims[:-1], dims[1:])]
        params = {"convs": convs, "fcs": fcs}

        def loss_fn(params, x, y, key):
            h = x.astype(cdt)
            for n, ((w, b), (_, _, _, s, p)) in enumerate(zip(params["convs"], SLIDE)):
                h = jax.nn.relu((conv or xla_conv)(h, w.astype(cdt), s, p) + b.astype(cdt))
                if n in POOL_AFTER:
                    h = lax.reduce_window(h, -jnp.inf, lax.max, (1, 3, 3, 1), (1, 2, 2, 1), "VALID")
            h = h.reshape(h.shape[0], -1)
            k1, k2 = jax.random.split(key)
            for n, (w, b) in enumerate(params["fcs"]):
                if n < 2 and dropout > 0:
                    keep = jax.random.bernoulli(k1 if n == 0 else k2, 1 - dropout, h.shape)
                    h = jnp.where(keep, h / (1 - dropout), 0).astype(cdt)
                h = h @ w.astype(cdt) + b.astype(cdt)
                if n < 2:
                    h = jax.nn.relu(h)
            logp = jax.nn.log_softmax(h.astype(jnp.float32))
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], 1))

        def train_step(params, x, y, key, i):
            loss, g = jax.value_and_grad(loss_fn)(params, x, y, jax.random.fold_in(key, i))
            return jax.tree.map(lambda p, g: p - LR * g, params, g), loss

        train_step = jax.jit(train_step, donate_argnums=0)
        x, y = (jnp.asarray(a) for a in _data(batch, image))
        holder = {"p": params, "i": 0, "key": jax.random.key(0, impl=prng)}

        def step():
            holder["i"] += 1
            holder["p"], loss = train_step(holder["p"], x, y, holder["key"], holder["i"])
            loss.block_until_ready()

        return step

    return setup


def _torch(batch: int, image: int, device: str, dropout: float = 0.5):
    """PyTorch's AlexNet; on a GPU channels_last and bf16 autocast."""

    def setup():
        import torch
        from torch import nn

        dev = torch_device(device)

        layers = []
        for n, (i, o, k, s, p) in enumerate(SLIDE):
            layers += [nn.Conv2d(i, o, k, s, p), nn.ReLU(inplace=True)]
            if n in POOL_AFTER:
                layers.append(nn.MaxPool2d(3, 2))
        _, last = _sizes(image)
        model = nn.Sequential(*layers, nn.Flatten(), nn.Dropout(dropout), nn.Linear(256 * last * last, 4096),
                              nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
                              nn.Linear(4096, CLASSES)).to(dev)
        opt = torch.optim.SGD(model.parameters(), lr=LR)
        x, y = (torch.from_numpy(a).to(dev) for a in _data(batch, image))
        x, y = x.permute(0, 3, 1, 2).contiguous(), y.long()
        if dev == "cuda":
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)

        def step():
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev == "cuda"):
                loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if dev == "cuda":
                torch.cuda.synchronize()

        return step

    return setup


def _small_cnn_cases(quick: bool) -> list[Case]:
    """The small CNN of cnn_digits.py (8x8x1 digits) on batch 64: lectarch vs PyTorch."""
    B = 64

    def lectarch_setup():

        from lectarch.config import base_config
        from lectarch.data.spec import DataSpec
        from lectarch.models.cnn import default_config
        from lectarch.train.objectives import classification
        from lectarch.train.state import init_state

        cfg = base_config()
        cfg.optimizer.name, cfg.learning_rate = "sgd", LR
        cfg.model = default_config()
        graphdef, state, tx = init_state(cfg, DataSpec((8, 8, 1), 10))
        rng = np.random.default_rng(0)
        b = {"inputs": rng.normal(size=(B, 8, 8, 1)).astype(np.float32),
             "targets": rng.integers(0, 10, B).astype(np.int32)}
        return lectarch_step(cfg, graphdef, state, tx, classification, b)

    def torch_setup():
        import torch
        from torch import nn

        model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(128, 10))
        opt = torch.optim.SGD(model.parameters(), lr=LR)
        x, y = torch.randn(B, 1, 8, 8), torch.randint(0, 10, (B,))

        def step():
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

        return step

    work = f"small CNN 16-32 (digits 8x8) B={B} f32 SGD"
    fl = 6.0 * B * (8 * 8 * 9 * 16 + 4 * 4 * 9 * 16 * 32 + 128 * 10)
    return [Case(work, "lectarch", lectarch_setup, fl), Case(work, "PyTorch", torch_setup, fl)]


def cases(args) -> list[Case]:
    B, S = (2, 127) if quick(args) else (8, 224)
    work = f"AlexNet (lecture) B={B} {S}x{S} f32 SGD"
    out = [Case(work, "lectarch", _lectarch(B, S, "float32"), flops(B, S)),
           Case(work, "lectarch, logging step", _lectarch(B, S, "float32", kind="logging"), flops(B, S)),
           Case(work, "lectarch, nonfinite_check=params", _lectarch(B, S, "float32", nonfinite_check="params"), flops(B, S)),
           Case(work, "plain JAX", _plain_jax(B, S, "float32"), flops(B, S)),
           Case(work, "PyTorch", _torch(B, S, "cpu"), flops(B, S))]
    out += _small_cnn_cases(quick(args))
    G, GS = (2, 67) if tiny(args) else (256, 224)
    gwork = f"AlexNet (lecture) B={G} {GS}x{GS} bf16 SGD"
    out += [Case(gwork, "lectarch", _lectarch(G, GS, "bfloat16"), flops(G, GS), device="gpu"),
            Case(gwork, "plain JAX, NHWC", _plain_jax(G, GS, "bfloat16"), flops(G, GS), device="gpu"),
            Case(gwork, "PyTorch, channels_last + autocast", _torch(G, GS, "gpu"), flops(G, GS), device="gpu")]
    return out
