"""The lecture's "Example: 1D Pooling" and "Example: 1D Receptive Field", worked by hand and checked.

``lectarch conv-example --example pool1d``: one signal, max and average pooling with window 2 /
stride 2 and window 3 / stride 1, every window written out, checked against ``lax.reduce_window``.
``lectarch conv-example --example rf1d``: the receptive field of a small 1-D stack, layer by layer
with ``r_l = r_{l-1} + (k'_l - 1) S_{l-1}``, a picture of the inputs the top unit sees, the closed
form for a dilated stack, and the same numbers measured from input gradients.
"""

import numpy as np

SIGNAL = np.array([1, 3, 2, 5, 4, 0, 6, 1], np.float32)


def pool1d() -> bool:
    import jax.numpy as jnp
    from jax import lax

    from lectarch.ops import pool

    x = SIGNAL
    print(f"1-D pooling of the signal x = {x.astype(int).tolist()} (length {len(x)})\n")
    ok = True
    for window, stride in ((2, 2), (3, 1)):
        n = (len(x) - window) // stride + 1
        print(f"window {window}, stride {stride}: output length floor(({len(x)} - {window}) / {stride}) + 1 = {n}")
        for i in range(n):
            w = x[i * stride:i * stride + window]
            print(f"  y[{i}]: x[{i * stride}:{i * stride + window}] = {w.astype(int).tolist()}   "
                  f"max {w.max():g}   average {w.mean():g}")
        mx = np.asarray(pool.max_pool1d(jnp.asarray(x)[None, :, None], window, stride))[0, :, 0]
        avg = np.asarray(lax.reduce_window(jnp.asarray(x), 0.0, lax.add, (window,), (stride,), "VALID")) / window
        by_hand_max = np.array([x[i * stride:i * stride + window].max() for i in range(n)])
        by_hand_avg = np.array([x[i * stride:i * stride + window].mean() for i in range(n)])
        same = bool(np.array_equal(mx, by_hand_max) and np.allclose(avg, by_hand_avg))
        ok &= same
        print(f"  max pooling     {by_hand_max.tolist()}\n  average pooling {[round(float(v), 3) for v in by_hand_avg]}")
        print(f"  lectarch.ops.pool.max_pool1d and lax.reduce_window give the same: {same}\n")
    print("Pooling has no weights: it keeps, per window, the largest (or mean) value; a stride equal to the "
          "window halves the length, a stride of 1 keeps it but for window - 1 steps.")
    return ok


def rf1d() -> bool:
    from flax import nnx

    from lectarch.models.cnn import Conv, Features, Pool, ReLU
    from lectarch.ops import receptive_field as rf

    T = 16
    layers = [Conv(1, 1, 3), ReLU(), Conv(1, 1, 3), ReLU(), Pool(2), Conv(1, 1, 3)]
    net = Features(layers, dims=1, rngs=nnx.Rngs(0))
    rows = rf.receptive_fields(net.receptive_field_layers(), T)
    print(f"Receptive field of a 1-D stack on T = {T} inputs: conv k=3, conv k=3, max pool 2, conv k=3\n")
    print("  r_l = r_{l-1} + (k_l - 1) * S_{l-1},  S_l = S_{l-1} * s_l,  r_0 = 1, S_0 = 1")
    for prev, row in zip(rows, rows[1:]):
        L = row.layer
        print(f"  {L.name:<6} r = {prev.size} + ({L.kernel} - 1) * {prev.stride} = {row.size:<3} "
              f"S = {prev.stride} * {L.stride} = {row.stride}")
    top = rows[-1]
    first, last = top.span(0)
    print(f"\nthe first unit of the top layer sees inputs {first}..{last}:")
    print("  " + "".join("#" if first <= t <= last else "." for t in range(T)) + f"   (# = seen, T = {T})")
    print("\n" + rf.format_table(rows))
    positive = rf.positive_copy(net)
    report = rf.compare_1d(lambda x: [m for _, m in positive.feature_maps(x)], (T, 1), rows)
    print("\nmeasured from input gradients:\n" + "\n".join("  " + line for line in report))

    c, k, L = 1, 3, 3
    dilated = Features([Conv(1, 1, k, padding=(2 ** l * (k - 1), 0), dilation=2 ** l) for l in range(L)], dims=1,
                       rngs=nnx.Rngs(0))
    drows = rf.receptive_fields(dilated.receptive_field_layers(), T)
    closed = 1 + c * (k - 1) * (2 ** L - 1)
    print(f"\nDilated causal stack (TCN): {L} convolutions k={k} with dilations 1, 2, 4:")
    print(f"  r = 1 + 2 + 4 + 8 = {drows[-1].size}; closed form 1 + c (k - 1)(2^L - 1) = 1 + {c}*{k - 1}*{2 ** L - 1} "
          f"= {closed}")
    dpos = rf.positive_copy(dilated)
    dreport = rf.compare_1d(lambda x: [m for _, m in dpos.feature_maps(x)], (T, 1), drows)
    print("measured:\n" + "\n".join("  " + line for line in dreport))
    return drows[-1].size == closed and not any(line.startswith("MISMATCH") for line in report + dreport)


EXAMPLES = {"pool1d": pool1d, "rf1d": rf1d}
