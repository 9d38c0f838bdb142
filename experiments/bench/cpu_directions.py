"""The directions for closing lectarch's CPU gaps to PyTorch, each measured beside its peers.

    python -m experiments.bench --only experiments.bench.cpu_directions --rounds 9 \\
        --md experiments/results/bench/directions_cpu.md --json experiments/results/bench/directions_cpu.json

Rows (all interleaved by the bench, ratios against the row named ``lectarch``):

- AlexNet B=8 f32: lectarch as configured by default; ``nonfinite_check=params`` (a pass over the
  61 M updated parameters on every step); plain JAX with XLA's convolutions; plain JAX with every
  convolution written as patches @ kernel (im2col, one GEMM per layer: the lecture's "convolution
  as a matrix product"), whose gradients are GEMMs too; PyTorch (oneDNN).
- LSTM B=32 T=128 in 128 hidden 256 f32: lectarch; the same program's matrix products alone (a
  forward scan of ``[x_t, h] @ [W; R]``, a backward scan of ``da_t @ R^T`` and the two weight-gradient
  GEMMs after the loop), the floor any lax.scan LSTM step pays on XLA's CPU GEMM; PyTorch.
- GEMMs of these steps, one matrix product each: XLA (jnp.dot) beside PyTorch (oneDNN/MKL), which
  says whether a gap is XLA's kernel or lectarch's program around it.

- AlexNet's convolution layers one by one, forward and both gradients: XLA beside PyTorch.

XLA's CPU flags are process-wide, so run it twice: ``--xla default`` (jaxlib's: convolutions on
YNNPACK) and ``--xla lectarch`` (``lectarch.train.xla_cpu``: convolutions on XLA's own kernels).
``--malloc keep`` runs everything with lectarch's allocator settings (``lectarch.train.host_allocator``).
"""

import numpy as np

from experiments.bench.rows import Case, quick
from experiments.bench.rows import alexnet as A
from experiments.bench.rows import recurrent as R


def im2col_conv(x, w, s: int, p: int):
    """A convolution as one GEMM: the k*k shifted (strided) slices of the padded input side by side,
    in the (i, j, c) order of the HWIO kernel's rows, times the kernel as a (k*k*C, O) matrix."""
    import jax.numpy as jnp
    from jax import lax

    k, (B, H, W, C) = w.shape[0], x.shape
    xp = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    cols = [lax.slice(xp, (0, i, j, 0), (B, i + s * (Ho - 1) + 1, j + s * (Wo - 1) + 1, C), (1, s, s, 1))
            for i in range(k) for j in range(k)]
    patches = jnp.concatenate(cols, axis=-1).reshape(B * Ho * Wo, k * k * C)
    return (patches @ w.reshape(k * k * C, -1)).reshape(B, Ho, Wo, -1)


def _lstm_matmuls_alone(B: int, T: int, D: int, H: int):
    """The matrix products of lectarch's LSTM step (explicit BPTT, projection inside), nothing else."""

    def setup():
        import jax
        import jax.numpy as jnp

        G = 4 * H
        k = jax.random.split(jax.random.PRNGKey(0), 4)
        x = jax.random.normal(k[0], (T, B, D))
        WR = jax.random.normal(k[1], (D + H, G)) / np.sqrt(D + H)

        @jax.jit
        def matmuls(x, WR):
            def fwd(h, x_t):
                a = jnp.concatenate([x_t, h], -1) @ WR
                return jnp.tanh(a[:, :H]), (h, a)

            _, (h_prev, a) = jax.lax.scan(fwd, jnp.zeros((B, H)), x)

            def bwd(dh, a_t):
                da = a_t * dh.repeat(4, axis=1)
                return da @ WR[D:].T, da

            _, da = jax.lax.scan(bwd, jnp.ones((B, H)), a, reverse=True)
            da = da.reshape(T * B, G)
            return x.reshape(T * B, D).T @ da, h_prev.reshape(T * B, H).T @ da

        def step():
            jax.block_until_ready(matmuls(x, WR))

        return step

    return setup


REPEAT = 8


def _gemm(impl: str, m: int, k: int, n: int, transpose_a: bool = False):
    """One matrix product ``a @ b`` (``a.T @ b`` with ``transpose_a``: a weight gradient), f32.

    A product with few rows (an LSTM step's) runs as it does in a scan: 128 dependent products per
    timed call (``a += 1e-6 * (a @ b)[:, :k]``, in one jit program for XLA, a Python loop for
    PyTorch; ``[:, :k]`` becomes a tiling where ``n < k``), so a single call's dispatch does not
    count; the row's time is per product x 128. A larger product runs ``REPEAT`` times per timed
    call, so the other library's threads, still spinning after its turn, touch a small share of it."""

    def setup():
        rng = np.random.default_rng(0)
        a = rng.normal(size=(k, m) if transpose_a else (m, k)).astype(np.float32)
        b = rng.normal(size=(k, n)).astype(np.float32)
        chain = m <= 64 and not transpose_a and (n >= k or k % n == 0)
        if impl == "PyTorch":
            import torch

            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            if chain:
                def step():
                    x = ta
                    for _ in range(128):
                        y = x @ tb
                        x = x + 1e-6 * (y[:, :k] if n >= k else y.repeat(1, k // n))

                return step
            def step():
                for _ in range(REPEAT):  # each result freed before the next, as in a single call
                    ta.T @ tb if transpose_a else ta @ tb

            return step
        import jax
        import jax.numpy as jnp

        if chain:
            back = (lambda y: y[:, :k]) if n >= k else (lambda y: jnp.tile(y, (1, k // n)))  # noqa: E731
            f = jax.jit(lambda a, b: jax.lax.fori_loop(0, 128, lambda i, x: x + 1e-6 * back(x @ b), a))
        else:
            f = jax.jit((lambda a, b: a.T @ b) if transpose_a else jnp.matmul)
        ja, jb = jnp.asarray(a), jnp.asarray(b)
        if chain:
            return lambda: f(ja, jb).block_until_ready()
        def step():
            for _ in range(REPEAT):
                f(ja, jb).block_until_ready()

        return step

    return setup


def _conv_layer(impl: str, B: int, side: int, cin: int, cout: int, k: int, s: int, p: int):
    """One convolution layer's forward and both gradients (input and kernel), f32, NHWC / NCHW."""

    def setup():
        rng = np.random.default_rng(0)
        x = rng.normal(size=(B, side, side, cin)).astype(np.float32)
        w = (rng.normal(size=(k, k, cin, cout)) / np.sqrt(k * k * cin)).astype(np.float32)
        if impl == "PyTorch":
            import torch

            tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().requires_grad_()
            tw = torch.from_numpy(w).permute(3, 2, 0, 1).contiguous().requires_grad_()

            def step():
                tx.grad = tw.grad = None
                torch.nn.functional.conv2d(tx, tw, stride=s, padding=p).square().sum().backward()

            return step
        import jax
        import jax.numpy as jnp

        conv = lambda x, w: jax.lax.conv_general_dilated(x, w, (s, s), [(p, p), (p, p)],  # noqa: E731
                                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        grads = jax.jit(jax.grad(lambda x, w: jnp.sum(jnp.square(conv(x, w))), argnums=(0, 1)))
        jx, jw = jnp.asarray(x), jnp.asarray(w)
        return lambda: jax.block_until_ready(grads(jx, jw))

    return setup


CONV_LAYERS = [(224, 3, 64, 11, 4, 2), (27, 64, 128, 5, 1, 2), (13, 128, 192, 3, 1, 1), (13, 192, 384, 3, 1, 1),
               (13, 384, 256, 3, 1, 1), (13, 256, 256, 3, 1, 1)]  # (side, in, out, kernel, stride, padding)

GEMMS = [  # (m, k, n, a transposed, where it comes from)
    (32, 384, 1024, False, "LSTM step: [x_t, h] @ [W; R]"),
    (32, 1024, 256, False, "LSTM backward step: da_t @ R^T"),
    (384, 4096, 1024, True, "LSTM weight gradient: [X, H_prev]^T @ dA"),
    (1024, 256, 1024, False, "Transformer feed-forward in: (B*S, d) @ (d, ff)"),
    (1024, 256, 1000, False, "Transformer logits: (B*S, d) @ (d, vocab)"),
    (9216, 8, 4096, True, "AlexNet fc1 weight gradient: h^T @ dy"),
    (1352, 3456, 256, False, "AlexNet conv5 as im2col: patches @ kernel"),
]


def cases(args) -> list[Case]:
    B, S = (2, 127) if quick(args) else (8, 224)
    work = f"AlexNet (lecture) B={B} {S}x{S} f32 SGD"
    out = [Case(work, "lectarch", A._lectarch(B, S, "float32")),
           Case(work, "lectarch, nonfinite_check=params", A._lectarch(B, S, "float32", nonfinite_check="params")),
           Case(work, "plain JAX, XLA convolutions", A._plain_jax(B, S, "float32")),
           Case(work, "plain JAX, convolutions as im2col GEMMs", A._plain_jax(B, S, "float32", conv=im2col_conv)),
           Case(work, "PyTorch", A._torch(B, S, "cpu"))]
    B, T, D, H = (8, 16, 32, 64) if quick(args) else (32, 128, 128, 256)
    work = f"LSTM, no peepholes B={B} T={T} in {D} hidden {H} f32 SGD"
    out += [Case(work, "lectarch", R._lectarch("lstm", "NP", B, T, D, H, "inside")),
            Case(work, "its matrix products alone (XLA)", _lstm_matmuls_alone(B, T, D, H)),
            Case(work, "PyTorch", R._torch("lstm", B, T, D, H))]
    for n_layer, (side, cin, cout, k, s, p) in enumerate(CONV_LAYERS, 1):
        Bc = 2 if quick(args) else 8
        side = min(side, 63) if quick(args) else side
        work = f"AlexNet conv{n_layer} B={Bc} {side}x{side}x{cin} -> {cout}, {k}x{k}/{s}: forward + both gradients"
        out += [Case(work, "lectarch", _conv_layer("JAX", Bc, side, cin, cout, k, s, p)),
                Case(work, "PyTorch", _conv_layer("PyTorch", Bc, side, cin, cout, k, s, p))]
    for m, k, n, t, where in GEMMS:
        if quick(args):
            m, k, n = max(1, m // 8), max(1, k // 8), max(1, n // 8)
        chained = m <= 64 and not t and (n >= k or k % n == 0)
        times = 128 if chained else REPEAT
        work = f"GEMM {m}x{k}x{n}{' (A^T B)' if t else ''} x {times}{' in a loop' if chained else ''}: {where}"
        fl = 2.0 * m * k * n * times
        out += [Case(work, "lectarch", _gemm("JAX", m, k, n, t), fl), Case(work, "PyTorch", _gemm("PyTorch", m, k, n, t), fl)]
    return out
