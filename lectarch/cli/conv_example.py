"""lectarch conv-example [--example pool1d|rf1d] [--dims 2] [--input edge|random] [--size N] [--kernel 2]
[--stride 1] [--padding 0] [--dilation 1] [--pool 2]

By default an edge detector (``-1`` at the first tap, ``+1`` at the last) over a step (1-D) or a
vertical edge (2-D): the output is zero where the input is flat and peaks at the edge, and max
pooling keeps the same output when the edge moves by one step inside a pooling window (translation
invariance, printed with the shifted input). ``--input random`` draws small integers instead.
Every number comes from ``lectarch.ops`` in one compiled program, checked against XLA's own
convolution and ``reduce_window``.
"""

from lectarch.cli import args as A

MAX_SIZE = 64  # a worked example printed on a terminal
DEFAULT_SIZE = {1: 10, 2: 6}

HELP = "print a small worked example of cross-correlation and max pooling, checked against XLA"


def add_arguments(p) -> None:
    p.add_argument("--dims", type=int, default=2, choices=(1, 2), help="1-D signal or 2-D image")
    p.add_argument("--input", default="edge", choices=("edge", "random"),
                   help="edge: an edge detector over a step (1-D) or a vertical edge (2-D), and the same input "
                        "shifted by one; random: small random integers and kernel (default: edge)")
    p.add_argument("--size", type=A.int_range(1, MAX_SIZE), default=None,
                   help=f"input length / side (default: {DEFAULT_SIZE[1]} in 1-D, {DEFAULT_SIZE[2]} in 2-D)")
    p.add_argument("--kernel", type=A.int_range(1, MAX_SIZE), default=2, help="kernel size")
    p.add_argument("--stride", type=A.int_range(1, MAX_SIZE), default=1)
    p.add_argument("--padding", type=A.int_range(0, MAX_SIZE), default=0, help="zeros added on each side")
    p.add_argument("--dilation", type=A.int_range(1, MAX_SIZE), default=1)
    p.add_argument("--pool", type=A.int_range(0, MAX_SIZE), default=2, help="max-pooling window (and stride) on the output; 0: none")
    p.add_argument("--seed", type=A.non_negative_int, default=0, help="with --input random")
    p.add_argument("--example", default="", choices=("", "pool1d", "rf1d"),
                   help="the lecture's 1-D pooling or 1-D receptive-field example, worked by hand")


def _grid(a) -> str:
    import numpy as np

    a = np.atleast_2d(a)
    width = max(len(f"{v:g}") for v in a.ravel())
    return "\n".join("  [" + " ".join(f"{v:>{width}g}" for v in row) + "]" for row in a)


def inputs(kind: str, dims: int, size: int, kernel: int, seed: int):
    """``(x, w)``: a step / vertical edge and an edge detector, or random integers."""
    import numpy as np

    if kind == "random":
        rng = np.random.default_rng(seed)
        return (rng.integers(0, 10, (size,) * dims).astype(np.float32),
                rng.integers(-1, 2, (kernel,) * dims).astype(np.float32))
    x = (np.arange(size) >= size // 2).astype(np.float32)  # 0 ... 0 1 ... 1
    w = np.zeros(kernel, np.float32)
    w[0], w[-1] = (-1.0, 1.0) if kernel > 1 else (1.0, 1.0)
    if dims == 2:  # every row the same: a vertical edge, found by the same detector on every kernel row
        x, w = np.tile(x, (size, 1)), np.tile(w, (kernel, 1))
    return x, w


def _program(dims: int, s: int, p: int, d: int, pool_size: int):
    """One jitted function of ``(x, w, x_shifted)``: patches, output and pooling by ``lectarch.ops``,
    and by XLA; a single compilation instead of one per operation."""
    import jax
    import jax.numpy as jnp

    from lectarch.ops import conv, pool

    def run(x, w, x_shifted):
        if dims == 1:
            def ours(x):
                return conv.conv1d(x[None, :, None], w[:, None, None], s, p, d)[0, :, 0]
            patches = conv.patches_1d(x[None, :, None], w.shape[0], s, p, d)[0, :, :, 0]
            y_xla = conv.conv1d_xla(x[None, :, None], w[:, None, None], s, p, d)[0, :, 0]

            def pooled(y, by_xla=False):
                f = pool.max_pool1d_xla if by_xla else pool.max_pool1d
                return f(y[None, :, None], pool_size)[0, :, 0]
        else:
            def ours(x):
                return conv.conv2d(x[None, :, :, None], w[:, :, None, None], (s, s), (p, p), (d, d))[0, :, :, 0]
            patches = conv.patches_2d(x[None, :, :, None], w.shape, (s, s), (p, p), (d, d))[0, :, :, :, :, 0]
            y_xla = conv.conv2d_xla(x[None, :, :, None], w[:, :, None, None], (s, s), (p, p), (d, d))[0, :, :, 0]

            def pooled(y, by_xla=False):
                f = pool.max_pool2d_xla if by_xla else pool.max_pool2d
                return f(y[None, :, :, None], (pool_size, pool_size))[0, :, :, 0]
        y, y_shifted = ours(x), ours(x_shifted)
        out = {"patches": patches, "y": y, "y_xla": y_xla, "y_shifted": y_shifted}
        if pool_size and min(y.shape) >= pool_size:
            out.update(m=pooled(y), m_xla=pooled(y, by_xla=True), m_shifted=pooled(y_shifted))
        return jax.tree.map(jnp.asarray, out)

    return jax.jit(run)


def run(args, overrides: list[str]) -> int:
    import numpy as np

    from lectarch.config import ConfigError
    from lectarch.ops.conv import output_size

    if overrides:
        raise ConfigError("conv-example takes no --config overrides")
    if args.example:
        from lectarch.cli.conv_example_1d import EXAMPLES

        return 0 if EXAMPLES[args.example]() else 1
    size = args.size or DEFAULT_SIZE[args.dims]
    s, p, d = args.stride, args.padding, args.dilation
    n_out = output_size(size, args.kernel, s, p, d)
    if n_out < 1:
        raise ConfigError(f"a kernel of {args.kernel} (dilation {args.dilation}) does not fit an input of "
                          f"{size} padded by {p}")
    x, w = inputs(args.input, args.dims, size, args.kernel, args.seed)
    x_shifted = np.roll(x, 1, axis=-1)
    x_shifted[..., 0] = x[..., 0]  # shifted right by one, the first value repeated
    program = _program(args.dims, s, p, d, args.pool).lower(x, w, x_shifted)
    # a few dozen numbers: XLA's quickest compilation (no LLVM optimisation) is faster than the run it saves
    r = {k: np.asarray(v) for k, v in program.compile({"xla_backend_optimization_level": 0})(x, w, x_shifted).items()}
    first = r["patches"][(0,) * args.dims]
    formula = ("y[i] = sum_k x_pad[s*i + d*k] * w[k]" if args.dims == 1
               else "y[i, j] = sum_{u,v} x_pad[s*i + d*u, s*j + d*v] * w[u, v]")
    print(f"Cross-correlation, {args.dims}-D: stride s={s}, padding p={p}, dilation d={d}")
    print(f"  {formula}")
    print(f"  output size = floor(({size} + 2*{p} - ({d}*({args.kernel}-1) + 1)) / {s}) + 1 = {n_out}\n")
    what = {"edge": {1: "a step", 2: "a vertical edge"}[args.dims], "random": f"random integers, seed {args.seed}"}
    print(f"input x ({'x'.join(map(str, x.shape))}, {what[args.input]}):\n{_grid(x)}\n")
    if p:
        print(f"x_pad: x with {p} zero(s) on each side:\n{_grid(np.pad(x, p))}\n")
    detector = ", an edge detector: -1 at the first tap, +1 at the last" if args.input == "edge" else ""
    print(f"kernel w ({'x'.join(map(str, w.shape))}{detector}):\n{_grid(w)}\n")
    terms = " + ".join(f"{a:g}*{b:g}" for a, b in zip(first.ravel(), w.ravel()))
    print(f"first output: the first patch of x_pad\n{_grid(first)}\ntimes w, summed: {terms} = {float((first * w).sum()):g}\n")
    print(f"output y ({'x'.join(map(str, r['y'].shape))}):\n{_grid(r['y'])}\n")
    print(f"lax.conv_general_dilated gives the same: {bool(np.allclose(r['y'], r['y_xla']))}")
    if "m" not in r:
        return 0
    print(f"\nmax pooling of y, window {args.pool}, stride {args.pool}: the largest value of each window\n{_grid(r['m'])}")
    print(f"lax.reduce_window gives the same: {bool(np.array_equal(r['m'], r['m_xla']))}")
    print(f"\nthe input shifted right by one step:\n{_grid(x_shifted)}\nits output y moves with it:\n{_grid(r['y_shifted'])}")
    same = bool(np.array_equal(r["m"], r["m_shifted"]))
    print(f"its max pooling:\n{_grid(r['m_shifted'])}\nthe same as before the shift: {same}"
          + (" (max pooling is invariant to a shift inside a window)" if same else
             " (the shift crossed a pooling window's border)"))
    return 0
