"""lectarch's recurrent training step beside PyTorch, both on ONE CPU thread, in interleaved rounds.

    python -m experiments.bench.recurrent_cpu_single_thread [--rounds 7]

On a machine shared with other jobs, wall-clock times of multi-threaded PyTorch collapse (its
OpenMP threads wait on busy cores), so the bench (``python -m experiments.bench``) can flatter lectarch there. Here
both run single-threaded and each round times every implementation once, so background load hits
them alike; the number is the median CPU time (``time.process_time``) of one step: forward, BPTT,
SGD, on B=32, T=128, in 128, hidden 256, f32 (the bench's reference sizes). Prints one line each.
"""

import os

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

B, T, D, H = 32, 128, 128, 256


def lectarch_steps(x_TxBxD, y_TxBxH) -> dict:
    import jax
    import jax.numpy as jnp

    from lectarch.models.cells import ElmanCell, LSTMCell
    from lectarch.models.scan import scan

    steps = {}
    for cname, cell in (("LSTM no peepholes", LSTMCell(H, variant="NP")), ("LSTM peepholes", LSTMCell(H)),
                        ("Elman RNN", ElmanCell(H))):
        for label, kw in (("explicit BPTT, W x inside", dict(bptt="explicit", projection="inside")),
                          ("explicit BPTT, W x hoisted", dict(bptt="explicit", projection="hoisted")),
                          ("autodiff BPTT, W x inside", dict(bptt="autodiff", projection="inside"))):
            def loss(P, cell=cell, kw=kw):
                return jnp.mean((scan(cell, P, x_TxBxD, **kw)[1] - y_TxBxH) ** 2)

            update = jax.jit(lambda P, loss=loss: jax.tree.map(lambda p, g: p - 1e-3 * g, P, jax.grad(loss)(P)))
            holder = {"P": cell.init_params(jax.random.PRNGKey(0), D)}

            def step(update=update, holder=holder):
                holder["P"] = update(holder["P"])
                jax.block_until_ready(holder["P"])

            steps[f"{cname}: lectarch, {label}"] = step
    return steps


def torch_steps(x, y) -> dict:
    import torch

    torch.set_num_threads(1)
    steps = {}
    for cname, module in (("LSTM no peepholes", torch.nn.LSTM), ("Elman RNN", torch.nn.RNN)):
        m = module(D, H, batch_first=True)
        opt = torch.optim.SGD(m.parameters(), lr=1e-3)
        xt, yt = torch.tensor(x), torch.tensor(y)

        def step(m=m, opt=opt, xt=xt, yt=yt):
            opt.zero_grad()
            ((m(xt)[0] - yt) ** 2).mean().backward()
            opt.step()

        steps[f"{cname}: PyTorch"] = step
    return steps


def main(argv=None) -> int:
    import jax.numpy as jnp
    import numpy as np

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    y = rng.normal(size=(B, T, H)).astype(np.float32)
    steps = {**lectarch_steps(jnp.asarray(x.swapaxes(0, 1)), jnp.asarray(y.swapaxes(0, 1))), **torch_steps(x, y)}
    for step in steps.values():  # compile and warm up
        step()
        step()
    times = {k: [] for k in steps}
    for _ in range(args.rounds):
        for k, step in steps.items():
            t = time.process_time()
            step()
            times[k].append(time.process_time() - t)
    for k in sorted(steps):
        print(f"{k:<58} {1e3 * statistics.median(times[k]):8.1f} ms CPU per step")
    return 0


if __name__ == "__main__":
    from experiments.script import run_script

    run_script(main, "python -m experiments.bench.recurrent_cpu_single_thread")
