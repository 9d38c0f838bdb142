"""Vmapped sweeps vs one trial after another: K small trials x 20 SGD steps.

One timed "step" of a case is the whole piece of work: 20 SGD steps of each of the K trials.
``lectarch`` trains the K trials at once, one jit program vmapped over the trial axis
(``lectarch.sweep.vmapped``); "one trial after another" trains them in turn with the same
compiled single-trial step (its best case: one compilation for all trials, as the learning rate
is in the state). The trials differ in learning rate and seed; they read the same batch.

GPU (reference: plain JAX on an H100 reached 20.6x; target >= 30x): 64 LSTM trials, hidden 128,
T=200, batch 32, 32 input features, 10 classes. CPU: 8 LSTM trials (hidden 32, T=20, batch 16)
and 16 MLP trials (64-128-128-10, batch 64).
"""

import numpy as np

from experiments.benchrows import Case

STEPS = 20


def _lstm_cfg(hidden: int):
    from lectarch.config import base_config
    from lectarch.models.recurrent import default_config

    cfg = base_config()
    cfg.optimizer.name = "sgd"
    cfg.learning_rate = 0.01
    cfg.model = default_config("lstm")
    cfg.model.hidden = hidden
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


def _setup(cfg, spec, k: int, batch_size: int, vmapped: bool):
    """A step() that runs 20 SGD steps of each of the k trials (all at once, or one after another)."""

    def setup():
        import jax

        from lectarch.sweep.vmapped import init_trials, make_vmapped_step
        from lectarch.train.objectives import classification
        from lectarch.train.step import make_train_step

        trials = [{"learning_rate": float(lr), "seed": i} for i, lr in enumerate(np.geomspace(1e-3, 1e-1, k))]
        graphdef, state_K, tx = init_trials(cfg, trials, spec)
        rng = np.random.default_rng(0)
        batch = jax.device_put({"inputs": rng.normal(size=(batch_size, *spec.input_shape)).astype(np.float32),
                                "targets": rng.integers(0, spec.num_outputs, batch_size).astype(np.int32)})
        if vmapped:
            train_K = make_vmapped_step(graphdef, tx, classification, batch_per_trial=False)
            holder = {"s": state_K}

            def step():
                s = holder["s"]
                for _ in range(STEPS):
                    s, m = train_K(s, batch)
                jax.block_until_ready(m["loss"])
                holder["s"] = s

            return step
        single = jax.jit(make_train_step(graphdef, tx, classification), donate_argnums=0)
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


def cases(args) -> list:
    from lectarch.data.spec import DataSpec

    out = []
    gpu_k, gpu_t = (8, 50) if args.quick else (64, 200)
    work = f"{gpu_k} LSTM trials (hidden 128, T={gpu_t}, B=32) x {STEPS} SGD steps"
    spec = DataSpec((gpu_t, 32), 10)
    out += [Case(work, "lectarch", _setup(_lstm_cfg(128), spec, gpu_k, 32, True), device="gpu", repeats=5),
            Case(work, "one trial after another", _setup(_lstm_cfg(128), spec, gpu_k, 32, False), device="gpu",
                 repeats=3)]
    cpu_k, cpu_t = (4, 10) if args.quick else (8, 20)
    work = f"{cpu_k} LSTM trials (hidden 32, T={cpu_t}, B=16) x {STEPS} SGD steps"
    spec = DataSpec((cpu_t, 32), 10)
    out += [Case(work, "lectarch", _setup(_lstm_cfg(32), spec, cpu_k, 16, True), repeats=5),
            Case(work, "one trial after another", _setup(_lstm_cfg(32), spec, cpu_k, 16, False), repeats=5)]
    mlp_k = 4 if args.quick else 16
    work = f"{mlp_k} MLP trials 64-128-128-10 B=64 x {STEPS} SGD steps"
    spec = DataSpec((64,), 10)
    out += [Case(work, "lectarch", _setup(_mlp_cfg(), spec, mlp_k, 64, True), repeats=5),
            Case(work, "one trial after another", _setup(_mlp_cfg(), spec, mlp_k, 64, False), repeats=5)]
    return out
