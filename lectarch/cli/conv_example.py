"""lectarch conv-example [--example pool1d|rf1d] [--dims 2] [--size 6] [--kernel 3] [--stride 1] [--padding 0] [--dilation 1] [--pool 2]"""

import numpy as np

from lectarch.config import ConfigError

from lectarch.cli import args as A

MAX_SIZE = 64  # a worked example printed on a terminal

HELP = "print a small worked example of cross-correlation and max pooling, checked against XLA"


def add_arguments(p) -> None:
    p.add_argument("--dims", type=int, default=2, choices=(1, 2), help="1-D signal or 2-D image")
    p.add_argument("--size", type=A.int_range(1, MAX_SIZE), default=6, help="input length / side")
    p.add_argument("--kernel", type=A.int_range(1, MAX_SIZE), default=3, help="kernel size")
    p.add_argument("--stride", type=A.int_range(1, MAX_SIZE), default=1)
    p.add_argument("--padding", type=A.int_range(0, MAX_SIZE), default=0, help="zeros added on each side")
    p.add_argument("--dilation", type=A.int_range(1, MAX_SIZE), default=1)
    p.add_argument("--pool", type=A.int_range(0, MAX_SIZE), default=2, help="max-pooling window (and stride) on the output; 0: none")
    p.add_argument("--seed", type=A.non_negative_int, default=0)
    p.add_argument("--example", default="", choices=("", "pool1d", "rf1d"),
                   help="the lecture's 1-D pooling or 1-D receptive-field example, worked by hand")


def _grid(a: np.ndarray) -> str:
    a = np.atleast_2d(a)
    width = max(len(f"{v:g}") for v in a.ravel())
    return "\n".join("  [" + " ".join(f"{v:>{width}g}" for v in row) + "]" for row in a)


def run(args, overrides: list[str]) -> int:
    import jax.numpy as jnp

    from lectarch.ops import conv, pool

    if overrides:
        raise ConfigError("conv-example takes no --config overrides")
    if args.example:
        from lectarch.cli.conv_example_1d import EXAMPLES

        return 0 if EXAMPLES[args.example]() else 1
    for name in ("size", "kernel", "stride", "dilation"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name}={getattr(args, name)} is out of range: must be an integer >= 1")
    if args.padding < 0 or args.pool < 0:
        raise ConfigError("--padding and --pool must be >= 0")
    n_out = conv.output_size(args.size, args.kernel, args.stride, args.padding, args.dilation)
    if n_out < 1:
        raise ConfigError(f"a kernel of {args.kernel} (dilation {args.dilation}) does not fit an input of "
                          f"{args.size} padded by {args.padding}")
    rng = np.random.default_rng(args.seed)
    shape = (args.size,) * args.dims
    x = rng.integers(0, 10, shape).astype(np.float32)
    w = rng.integers(-1, 2, (args.kernel,) * args.dims).astype(np.float32)
    s, p, d = args.stride, args.padding, args.dilation
    if args.dims == 1:
        patches = np.asarray(conv.patches_1d(jnp.asarray(x)[None, :, None], args.kernel, s, p, d))[0, :, :, 0]
        y = np.asarray(conv.conv1d(jnp.asarray(x)[None, :, None], jnp.asarray(w)[:, None, None], s, p, d))[0, :, 0]
        y_xla = np.asarray(conv.conv1d_xla(jnp.asarray(x)[None, :, None], jnp.asarray(w)[:, None, None], s, p, d))[0, :, 0]
        first = patches[0]
        formula = "y[i] = sum_k x_pad[s*i + d*k] * w[k]"
    else:
        x4, w4 = jnp.asarray(x)[None, :, :, None], jnp.asarray(w)[:, :, None, None]
        patches = np.asarray(conv.patches_2d(x4, w.shape, (s, s), (p, p), (d, d)))[0, :, :, :, :, 0]
        y = np.asarray(conv.conv2d(x4, w4, (s, s), (p, p), (d, d)))[0, :, :, 0]
        y_xla = np.asarray(conv.conv2d_xla(x4, w4, (s, s), (p, p), (d, d)))[0, :, :, 0]
        first = patches[0, 0]
        formula = "y[i, j] = sum_{u,v} x_pad[s*i + d*u, s*j + d*v] * w[u, v]"
    print(f"Cross-correlation, {args.dims}-D: stride s={s}, padding p={p}, dilation d={d}")
    print(f"  {formula}")
    print(f"  output size = floor(({args.size} + 2*{p} - ({d}*({args.kernel}-1) + 1)) / {s}) + 1 = {n_out}\n")
    print(f"input x ({'x'.join(map(str, shape))}):\n{_grid(x)}\n")
    if p:
        print(f"x_pad: x with {p} zero(s) on each side:\n{_grid(np.pad(x, p))}\n")
    print(f"kernel w ({'x'.join(map(str, w.shape))}):\n{_grid(w)}\n")
    terms = " + ".join(f"{a:g}*{b:g}" for a, b in zip(first.ravel(), w.ravel()))
    print(f"first output: the first patch of x_pad\n{_grid(first)}\ntimes w, summed: {terms} = {float((first * w).sum()):g}\n")
    print(f"output y ({'x'.join(map(str, y.shape))}):\n{_grid(y)}\n")
    print(f"lax.conv_general_dilated gives the same: {bool(np.allclose(y, y_xla))}")
    if args.pool and min(y.shape) >= args.pool:
        if args.dims == 1:
            m = np.asarray(pool.max_pool1d(jnp.asarray(y)[None, :, None], args.pool))[0, :, 0]
            m_xla = np.asarray(pool.max_pool1d_xla(jnp.asarray(y)[None, :, None], args.pool))[0, :, 0]
        else:
            k = (args.pool, args.pool)
            m = np.asarray(pool.max_pool2d(jnp.asarray(y)[None, :, :, None], k))[0, :, :, 0]
            m_xla = np.asarray(pool.max_pool2d_xla(jnp.asarray(y)[None, :, :, None], k))[0, :, :, 0]
        print(f"\nmax pooling of y, window {args.pool}, stride {args.pool}: the largest value of each window\n{_grid(m)}")
        print(f"lax.reduce_window gives the same: {bool(np.array_equal(m, m_xla))}")
    return 0
