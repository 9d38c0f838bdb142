"""Training steps with dropout on, as users train them, and what the random bits of its masks cost.

Two works: the Transformer with dropout 0.1 (sub-layer outputs and embedding sums) and the
lecture's AlexNet with dropout 0.5 (before fc1 and fc2); CPU sizes as in ``transformer.py`` and
``alexnet.py`` (f32), GPU sizes the base Transformer and AlexNet B=256 in bf16 (``--tiny``: tiny).

Per work: lectarch's step with its default PRNG (``config.prng_impl="threefry"``, the reference), the
same step with ``prng_impl`` ``rbg`` and ``unsafe_rbg`` (the run's key and every key folded from it use
that implementation), the same step with dropout off (what the masks cost at all), plain JAX under
threefry and rbg (keys ``jax.random.key(0, impl=...)``), and PyTorch.
"""

from experiments.bench.rows import Case, quick, tiny
from experiments.bench.rows import alexnet as A
from experiments.bench.rows import transformer as T

PRNGS = ("threefry2x32", "rbg", "unsafe_rbg")  # JAX's names (plain JAX)
CONFIG_PRNGS = ("threefry", "rbg", "unsafe_rbg")  # config.prng_impl (lectarch)
TRANSFORMER_P, ALEXNET_P = 0.1, 0.5


def _impls(lectarch, plain_jax, torch, p: float) -> list[tuple[str, object]]:
    """``lectarch(p)``, ``plain_jax(p, prng)``, ``torch(p)``: the cases of one work, by implementation."""
    out = [("lectarch", lectarch(p))]
    out += [(f"lectarch, {impl} keys", lectarch(p, impl)) for impl in CONFIG_PRNGS[1:]]
    out += [("lectarch, dropout off", lectarch(0.0))]
    out += [(f"plain JAX, {impl} keys", plain_jax(p, impl)) for impl in PRNGS[:2]]
    return out + [(f"PyTorch, dropout {p}", torch(p))]


def cases(args) -> list[Case]:
    out = []
    for device in ("cpu", "gpu"):
        small = quick(args) if device == "cpu" else tiny(args)
        if device == "cpu":
            size, dtype = (T.QUICK if small else T.CPU), "float32"
        else:
            size, dtype = (T.QUICK if small else T.GPU), "bfloat16"
        work = T._work(size, dtype) + f", dropout {TRANSFORMER_P}"
        impls = _impls(lambda p, prng="threefry": T._lectarch(size, dtype, dropout=p, prng=prng),
                       lambda p, prng: T._plain_jax(size, dtype, dropout=p, prng=prng),
                       lambda p: T._torch(size, dtype, device, dropout=p), TRANSFORMER_P)
        out += [Case(work, impl, setup, T.train_flops(**size), device=device, repeats=10) for impl, setup in impls]
        if device == "cpu":
            B, S, dtype = (2, 127, "float32") if small else (8, 224, "float32")
        else:
            B, S, dtype = (2, 67, "bfloat16") if small else (256, 224, "bfloat16")
        work = f"AlexNet (lecture) B={B} {S}x{S} {'bf16' if dtype == 'bfloat16' else 'f32'} SGD, dropout {ALEXNET_P}"
        impls = _impls(lambda p, prng="threefry": A._lectarch(B, S, dtype, dropout=p, prng=prng),
                       lambda p, prng: A._plain_jax(B, S, dtype, dropout=p, prng=prng),
                       lambda p: A._torch(B, S, device, dropout=p), ALEXNET_P)
        out += [Case(work, impl, setup, A.flops(B, S), device=device) for impl, setup in impls]
    return out
