"""Gradient flow through time in a recurrent network.

**dL/dh_t for every t in one backward pass.** Add a perturbation d_t to the hidden state right
after step t (``lectarch.models.scan``'s ``perturbations``): h_t' = h_t + d_t. Then

    dL/dd_t |_{d=0} = dL/dh_t        for every t = 1..T at once,

because d_t enters the computation exactly where h_t does. ``jax.grad`` with respect to the
all-zero perturbations is one backward pass through the scan (backpropagation through time),
and gives the T x B x H array of dL/dh_t (and dL/dc_t for an LSTM's cell state).
``time_norms`` reports ||dL/dh_t||, the Frobenius norm over batch and units of that slice.

**dh_T/dh_t as a product of step Jacobians.** With the carry s_t (h_t, plus c_t for an LSTM),

    ds_T/ds_t = J_T J_{T-1} ... J_{t+1},     J_k = ds_k/ds_{k-1}   (the step's Jacobian),

and dh_T/dh_t is its h-rows/h-columns block. Its singular values tell how a perturbation of h_t
is stretched (> 1: exploding) or shrunk (< 1: vanishing) by the time it reaches h_T; for a tanh
RNN ||dh_T/dh_t|| <= (max_k ||diag(tanh') R^T||)^(T-t) (Pascanu, Mikolov and Bengio 2013).
"""

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from lectarch.models.cells import Carry, Cell, Params
from lectarch.train.flow import state_grad_norms, state_grads  # noqa: F401


def hidden_grads(loss_of: Callable[[dict], jax.Array], zeros: dict) -> dict:
    """``dL/dd`` at ``d = zeros``: the loss's gradient with respect to every injected state, one backward pass."""
    return jax.grad(loss_of)(zeros)


def time_norms(grads_TxBxH: jax.Array) -> np.ndarray:
    """||dL/dh_t|| for t = 1..T: the Frobenius norm of each time slice (over batch and units)."""
    g = np.asarray(grads_TxBxH, np.float64)
    return np.sqrt(np.sum(g.reshape(g.shape[0], -1) ** 2, axis=1))


def carries(cell: Cell, params: Params, x_TxBxD: jax.Array, carry0: Carry | None = None) -> tuple[Carry, jax.Array]:
    """The carry before every step, s_0..s_{T-1} (stacked, T leading), and the projected inputs W x_t + b."""
    xw_TxBxG = cell.project(params, x_TxBxD)
    s0 = cell.init_carry(x_TxBxD.shape[1]) if carry0 is None else carry0
    s0 = jax.tree.map(lambda v: v.astype(xw_TxBxG.dtype), s0)  # float64 parameters: float64 carry

    def body(s, xw_t):
        new, _ = cell.step(params, s, xw_t)
        return new, s

    _, before_T = jax.lax.scan(body, s0, xw_TxBxG)
    return before_T, xw_TxBxG


def step_jacobians(cell: Cell, params: Params, x_TxD: jax.Array) -> tuple[jax.Array, Callable]:
    """J_1..J_T (T x S x S) of one sequence, with the carry flattened to a vector of size S, and the
    function that unflattens a carry vector (to find the ``h`` block)."""
    before_T, xw_TxG = carries(cell, params, x_TxD[:, None, :])  # a batch of one
    s0 = jax.tree.map(lambda v: v[0], before_T)
    _, unravel = ravel_pytree(s0)

    def jac(s_prev_flat, xw_1xG):
        f = lambda v: ravel_pytree(cell.step(params, unravel(v), xw_1xG)[0])[0]  # noqa: E731
        return jax.jacfwd(f)(s_prev_flat)

    flat_T = jax.vmap(lambda s: ravel_pytree(s)[0])(before_T)
    return jax.vmap(jac)(flat_T, xw_TxG), unravel


def h_block(unravel: Callable, size: int) -> np.ndarray:
    """Indices of ``h`` inside the flattened carry."""
    marker = unravel(jnp.arange(size, dtype=jnp.float32))
    return np.asarray(marker["h"], np.int64).reshape(-1)


def jacobian_products(J_TxSxS: jax.Array) -> jax.Array:
    """ds_T/ds_t for t = 0..T (T+1 x S x S): P_T = I, P_t = P_{t+1} J_{t+1}."""
    S = J_TxSxS.shape[-1]

    def body(P, J):
        return P @ J, P

    P0, P_rest = jax.lax.scan(body, jnp.eye(S, dtype=J_TxSxS.dtype), J_TxSxS, reverse=True)
    return jnp.concatenate([P0[None], P_rest], axis=0)


@functools.partial(jax.jit, static_argnums=0)
def _all_products(cell: Cell, params: Params, x_TxD: jax.Array) -> jax.Array:
    return jacobian_products(step_jacobians(cell, params, x_TxD)[0])


def dhT_dht(cell: Cell, params: Params, x_TxD: jax.Array, times: list[int]) -> dict[int, np.ndarray]:
    """dh_T/dh_t (H x H) for each t in ``times`` (1 <= t <= T), one sequence ``x_TxD``."""
    P = np.asarray(_all_products(cell, params, x_TxD))
    _, unravel = ravel_pytree(cell.init_carry(1))  # the carry's layout, to find h in it
    idx = h_block(unravel, P.shape[-1])
    return {t: P[t][np.ix_(idx, idx)] for t in times}


def singular_values(matrices: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    return {t: np.linalg.svd(np.asarray(m, np.float64), compute_uv=False) for t, m in matrices.items()}


def default_times(T: int, n: int = 5) -> list[int]:
    return sorted({int(round(t)) for t in np.linspace(1, T, n)})


# --- the probes on an experiment's recurrent model (lectarch.models.recurrent) -----------------------


def is_recurrent(run) -> bool:
    """Whether the model takes hidden-state perturbations (``StatePerturbations``)."""
    from lectarch.models.capabilities import StatePerturbations

    return isinstance(_model(run), StatePerturbations)


def _model(run):
    from flax import nnx

    return nnx.merge(run.graphdef, run.state.params, run.state.rest)


def time_grads(run, batch: dict | None = None) -> dict[str, jax.Array]:
    """``state_grads`` at the run's state and batch (default: ``run.batch``), with the step's key."""
    from lectarch.train.step import step_key

    batch = run.batch if batch is None else batch
    s = run.state
    grads = jax.jit(lambda p, r, b, k: state_grads(run.graphdef, run.objective, p, r, b, k))
    return grads(s.params, s.rest, batch, step_key(s))


def time_probe(run, batch: dict | None = None) -> dict[str, np.ndarray]:
    """||dL/dh_t|| (and ||dL/dc_t||) over t = 1..T for every layer (``time_grads``)."""
    return {k: time_norms(v) for k, v in sorted(time_grads(run, batch).items())}


def time_rows(norms: dict[str, np.ndarray]) -> list[dict]:
    """One CSV row per step t: ``t`` and one column per state (``0.h``, ``0.c``, ...)."""
    T = max(len(v) for v in norms.values())
    return [dict(t=t + 1, **{k: float(v[t]) if t < len(v) else None for k, v in norms.items()}) for t in range(T)]


def layer_inputs(model, inputs, layer: int = 0) -> jax.Array:
    """The time-major input sequence ``x_TxBxD`` that recurrent layer ``layer`` of the stack reads."""
    if model.family == "encoder_decoder":
        raise ValueError("the Jacobian probe needs a single recurrent stack (not an encoder-decoder)")
    x_TxBxD, _ = model.features(inputs)
    stack = model.stack
    for l in range(layer):
        _, y = stack.forward[l](x_TxBxD)
        if stack.backward is not None:
            y = jnp.concatenate([y, stack.backward[l](x_TxBxD, reverse=True)[1]], axis=-1)
        x_TxBxD = y
    return x_TxBxD


def jacobian_probe(run, times: list[int] | None = None, layer: int = 0, example: int = 0,
                   batch: dict | None = None) -> dict[int, np.ndarray]:
    """Singular values of dh_T/dh_t (left-to-right pass of ``layer``) for one example of the batch."""
    batch = run.batch if batch is None else batch
    model = _model(run)
    x_TxBxD = layer_inputs(model, jax.tree.map(jnp.asarray, batch["inputs"]), layer)
    rec = model.stack.forward[layer]
    T = x_TxBxD.shape[0]
    times = times or default_times(T)
    bad = [t for t in times if not 1 <= t <= T]
    if bad:
        from lectarch.config import ConfigError

        raise ConfigError(f"--times {bad} out of range: steps are 1..{T}")
    return singular_values(dhT_dht(rec.cell, rec.params(), x_TxBxD[:, example], times))
