"""Vmapped sweeps vs one trial after another: K small trials x 20 SGD steps.

One timed "step" of a case is the whole piece of work: 20 SGD steps of each of the K trials.
``lectarch`` trains the K trials at once, one jit program vmapped over the trial axis (the
trainer's lean step, ``lectarch.sweep.vmapped.make_vmapped_steps``); "one trial after another"
trains them in turn with the same compiled single-trial step (its best case: one compilation for
all trials, as the learning rate is in the state). The trials differ in learning rate and seed;
they read the same batch. Plain JAX and PyTorch do the same with a hand-written LSTM classifier
(``jax.vmap`` over the trials; PyTorch's ``nn.LSTM`` one trial after another).

GPU: 64 LSTM trials (no peepholes), hidden 128, T=200, batch 32, 32 input features, 10 classes (``--tiny``:
4 trials, hidden 8, T=5, batch 4). CPU: 8 LSTM trials (hidden 32, T=20, batch 16) and 16 MLP
trials (64-128-128-10, batch 64).
"""

import numpy as np

from experiments.bench.rows import Case, quick, tiny, torch_device

STEPS = 20
FEATURES, CLASSES = 32, 10


def _lstm_cfg(hidden: int):
    from lectarch.config import base_config
    from lectarch.models.recurrent import default_config

    cfg = base_config()
    cfg.optimizer.name = "sgd"
    cfg.learning_rate = 0.01
    cfg.model = default_config("lstm")
    cfg.model.hidden, cfg.model.variant = hidden, "NP"
    cfg.model.family = "many_to_one"
    return cfg


def _mlp_cfg():
    from lectarch.config import base_config
    from lectarch.models.mlp import default_config

    cfg = base_config()
    cfg.optimizer.name = "sgd"
    cfg.learning_rate = 0.01
    cfg.model = default_config()
    cfg.model.depth, cfg.model.width = 2, 128
    return cfg


def _rates(k: int) -> np.ndarray:
    return np.geomspace(1e-3, 1e-1, k).astype(np.float32)


def _batch(batch_size: int, input_shape: tuple, classes: int) -> dict:
    rng = np.random.default_rng(0)
    return {"inputs": rng.normal(size=(batch_size, *input_shape)).astype(np.float32),
            "targets": rng.integers(0, classes, batch_size).astype(np.int32)}


def _lectarch(cfg, spec, k: int, batch_size: int, vmapped: bool):
    """A step() that runs 20 SGD steps of each of the k trials (all at once, or one after another)."""

    def setup():
        import jax

        from lectarch.sweep.vmapped import init_trials, make_vmapped_steps
        from lectarch.train.objectives import classification
        from lectarch.train.step import make_train_step, step_options

        trials = [{"learning_rate": float(lr), "seed": i} for i, lr in enumerate(_rates(k))]
        graphdef, state_K, tx = init_trials(cfg, trials, spec)
        batch = jax.device_put(_batch(batch_size, spec.input_shape, spec.num_outputs))
        if vmapped:
            train_K = make_vmapped_steps(cfg, graphdef, tx, classification, batch_per_trial=False)["lean"]
            holder = {"s": state_K}

            def step():
                s = holder["s"]
                for _ in range(STEPS):
                    s, m = train_K(s, batch)
                jax.block_until_ready(m["loss"])
                holder["s"] = s

            return step
        single = jax.jit(make_train_step(graphdef, tx, classification, step_options(cfg, "lean")), donate_argnums=0)
        states = [jax.tree.map(lambda x, i=i: x[i], state_K) for i in range(k)]

        def step():
            for i in range(k):
                s = states[i]
                for _ in range(STEPS):
                    s, m = single(s, batch)
                jax.block_until_ready(m["loss"])
                states[i] = s

        return step

    return setup


def _plain_jax(k: int, T: int, H: int, batch_size: int, vmapped: bool):
    """An LSTM classifier (no peepholes, last state -> logits) in a page of JAX: 20 SGD steps of
    each of k trials, ``jax.vmap`` over the trials' parameters and rates, or one trial after another."""

    def setup():
        import jax
        import jax.numpy as jnp

        def init(key):
            k1, k2, k3 = jax.random.split(key, 3)
            return {"W": jax.random.normal(k1, (FEATURES, 4 * H)) / np.sqrt(FEATURES),
                    "R": jax.random.normal(k2, (H, 4 * H)) / np.sqrt(H), "b": jnp.zeros(4 * H),
                    "V": jax.random.normal(k3, (H, CLASSES)) / np.sqrt(H), "c": jnp.zeros(CLASSES)}

        def loss_fn(p, x_BxTxF, y_B):
            def cell(carry, x_t):
                h, c = carry
                z, i, f, o = jnp.split(x_t @ p["W"] + h @ p["R"] + p["b"], 4, axis=-1)
                c = jnp.tanh(z) * jax.nn.sigmoid(i) + c * jax.nn.sigmoid(f)
                return (jnp.tanh(c) * jax.nn.sigmoid(o), c), None

            zeros = jnp.zeros((x_BxTxF.shape[0], H))
            (h, _), _ = jax.lax.scan(cell, (zeros, zeros), jnp.swapaxes(x_BxTxF, 0, 1))
            logp = jax.nn.log_softmax(h @ p["V"] + p["c"])
            return -jnp.mean(jnp.take_along_axis(logp, y_B[:, None], 1))

        def sgd(p, lr, x, y):
            loss, g = jax.value_and_grad(loss_fn)(p, x, y)
            return jax.tree.map(lambda a, b: a - lr * b, p, g), loss

        rates = jnp.asarray(_rates(k))
        params_K = jax.vmap(init)(jax.random.split(jax.random.PRNGKey(0), k))
        b = _batch(batch_size, (T, FEATURES), CLASSES)
        x, y = jnp.asarray(b["inputs"]), jnp.asarray(b["targets"])
        if vmapped:
            train_K = jax.jit(jax.vmap(sgd, in_axes=(0, 0, None, None)), donate_argnums=0)
            holder = {"p": params_K}

            def step():
                p = holder["p"]
                for _ in range(STEPS):
                    p, loss = train_K(p, rates, x, y)
                loss.block_until_ready()
                holder["p"] = p

            return step
        single = jax.jit(sgd, donate_argnums=0)
        params = [jax.tree.map(lambda a, i=i: a[i], params_K) for i in range(k)]

        def step():
            for i in range(k):
                p = params[i]
                for _ in range(STEPS):
                    p, loss = single(p, rates[i], x, y)
                loss.block_until_ready()
                params[i] = p

        return step

    return setup


def _torch(k: int, T: int, H: int, batch_size: int, device: str):
    """PyTorch's nn.LSTM (cuDNN on a GPU) + a linear head: 20 SGD steps of each trial in turn."""

    def setup():
        import torch

        dev = torch_device(device)
        torch.manual_seed(0)
        trials = []
        for lr in _rates(k):
            lstm = torch.nn.LSTM(FEATURES, H, batch_first=True).to(dev)
            head = torch.nn.Linear(H, CLASSES).to(dev)
            trials.append((lstm, head, torch.optim.SGD(list(lstm.parameters()) + list(head.parameters()), lr=float(lr))))
        b = _batch(batch_size, (T, FEATURES), CLASSES)
        x, y = torch.from_numpy(b["inputs"]).to(dev), torch.from_numpy(b["targets"]).long().to(dev)

        def step():
            for lstm, head, opt in trials:
                for _ in range(STEPS):
                    opt.zero_grad(set_to_none=True)
                    _, (h, _) = lstm(x)
                    torch.nn.functional.cross_entropy(head(h[-1]), y).backward()
                    opt.step()
            if dev == "cuda":
                torch.cuda.synchronize()

        return step

    return setup


def cases(args) -> list:
    from lectarch.data.spec import DataSpec

    out = []
    k, T, H, B = (4, 5, 8, 4) if tiny(args) else (64, 200, 128, 32)
    work = f"{k} LSTM trials (hidden {H}, T={T}, B={B}) x {STEPS} SGD steps"
    spec = DataSpec((T, FEATURES), CLASSES)
    slow = dict(device="gpu", repeats=3, warmup=0, lead_in=0)  # one call: k x 20 steps, seconds on a GPU
    out += [Case(work, "lectarch", _lectarch(_lstm_cfg(H), spec, k, B, True), device="gpu", repeats=5),
            Case(work, "lectarch, one trial after another", _lectarch(_lstm_cfg(H), spec, k, B, False), **slow),
            Case(work, "plain JAX, jax.vmap over trials", _plain_jax(k, T, H, B, True), device="gpu", repeats=5),
            Case(work, "plain JAX, one trial after another", _plain_jax(k, T, H, B, False), **slow),
            Case(work, "PyTorch nn.LSTM, one trial after another", _torch(k, T, H, B, "gpu"), **slow)]
    cpu_k, cpu_t = (4, 10) if quick(args) else (8, 20)
    work = f"{cpu_k} LSTM trials (hidden 32, T={cpu_t}, B=16) x {STEPS} SGD steps"
    spec = DataSpec((cpu_t, FEATURES), CLASSES)
    out += [Case(work, "lectarch", _lectarch(_lstm_cfg(32), spec, cpu_k, 16, True), repeats=5),
            Case(work, "one trial after another", _lectarch(_lstm_cfg(32), spec, cpu_k, 16, False), repeats=5)]
    mlp_k = 4 if quick(args) else 16
    work = f"{mlp_k} MLP trials 64-128-128-10 B=64 x {STEPS} SGD steps"
    spec = DataSpec((64,), 10)
    out += [Case(work, "lectarch", _lectarch(_mlp_cfg(), spec, mlp_k, 64, True), repeats=5),
            Case(work, "one trial after another", _lectarch(_mlp_cfg(), spec, mlp_k, 64, False), repeats=5)]
    return out
