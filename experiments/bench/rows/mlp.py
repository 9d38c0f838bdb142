"""The MLP training step on digits-sized data: lectarch vs plain JAX vs PyTorch."""

import numpy as np

from experiments.bench.rows import Case, lectarch_step

B, D, H, C, DEPTH = 64, 64, 128, 10, 2


def _lectarch():

    from lectarch.config import base_config
    from lectarch.data.spec import DataSpec
    from lectarch.models.mlp import default_config
    from lectarch.train.objectives import classification
    from lectarch.train.state import init_state

    cfg = base_config()
    cfg.optimizer.name = "sgd"
    cfg.learning_rate = 0.01
    cfg.model = default_config()
    cfg.model.depth, cfg.model.width = DEPTH, H
    graphdef, state, tx = init_state(cfg, DataSpec((D,), C))
    rng = np.random.default_rng(0)
    batch = {"inputs": rng.normal(size=(B, D)).astype(np.float32),
             "targets": rng.integers(0, C, B).astype(np.int32)}
    return lectarch_step(cfg, graphdef, state, tx, classification, batch)


def _plain_jax():
    import jax
    import jax.numpy as jnp

    sizes = [D] + [H] * DEPTH + [C]
    keys = jax.random.split(jax.random.PRNGKey(0), len(sizes))
    params = [(jax.random.normal(k, (a, b)) / np.sqrt(a), jnp.zeros(b)) for k, a, b in zip(keys, sizes[:-1], sizes[1:])]

    def loss_fn(params, x, y):
        for w, b in params[:-1]:
            x = jax.nn.relu(x @ w + b)
        logits = x @ params[-1][0] + params[-1][1]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))

    @jax.jit
    def train_step(params, x, y):
        loss, g = jax.value_and_grad(loss_fn)(params, x, y)
        return jax.tree.map(lambda p, g: p - 0.01 * g, params, g), loss

    rng = np.random.default_rng(0)
    x, y = jnp.asarray(rng.normal(size=(B, D)), jnp.float32), jnp.asarray(rng.integers(0, C, B))
    holder = {"p": params}

    def step():
        holder["p"], loss = train_step(holder["p"], x, y)
        loss.block_until_ready()

    return step


def _torch():
    import torch

    layers, a = [], D
    for _ in range(DEPTH):
        layers += [torch.nn.Linear(a, H), torch.nn.ReLU()]
        a = H
    model = torch.nn.Sequential(*layers, torch.nn.Linear(a, C))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(B, D), torch.randint(0, C, (B,))

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def cases(args) -> list[Case]:
    work = f"MLP {D}-{'-'.join([str(H)] * DEPTH)}-{C} B={B} f32 SGD"
    flops = 6 * B * (D * H + H * H * (DEPTH - 1) + H * C)
    return [Case(work, "lectarch", _lectarch, flops), Case(work, "plain JAX", _plain_jax, flops),
            Case(work, "PyTorch", _torch, flops)]
