"""Golden values: five training steps of a fixed small MLP from a fixed seed give recorded losses.

Any change to initialisation, data order, the objective, the optimiser or the step that moves
these numbers is caught here; if the change is intended, record the new values (and say why in the
commit). Recorded on CPU with jax 0.10 (the pinned version); the test runs on CPU.
"""

import jax
import numpy as np

from lectarch.data import build_dataset, pipeline
from lectarch.train.objectives import classification
from lectarch.train.state import init_state
from lectarch.train.step import make_train_step, step_options
from tests.helpers import config

# Everything that decides the numbers, spelled out so a change of the experiment's defaults shows here.
PINNED = ("seed=0", "batch_size=64", "learning_rate=0.01", "optimizer.name=adam", "schedule.name=constant",
          "model.depth=2", "model.width=32", "model.activation=relu", "model.dropout=0.0")
RECORDED_LOSSES = [2.307379722595215, 2.2336716651916504, 2.2384033203125, 2.1671199798583984, 2.176849365234375]


def test_five_steps_of_a_small_mlp_give_the_recorded_losses():
    cfg = config("mlp_digits", *PINNED)
    ds = build_dataset(cfg)
    graphdef, state, tx = init_state(cfg, ds.spec)
    step = jax.jit(make_train_step(graphdef, tx, classification, step_options(cfg, "logging")))
    losses = []
    for s in range(len(RECORDED_LOSSES)):
        state, m = step(state, pipeline.train_batch_at(ds, batch_size=cfg.batch_size, seed=cfg.seed, step=s))
        losses.append(float(m["loss"]))
    np.testing.assert_allclose(losses, RECORDED_LOSSES, rtol=1e-6, atol=0)
