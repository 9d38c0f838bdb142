"""Recurrent cells of the lecture as pure step functions: the Elman RNN and the peephole LSTM.

Every cell is a frozen dataclass of hyperparameters with pure methods; its parameters are a plain
dict of arrays, so the same code serves the nnx layers (``lectarch.models.recurrent``), the scan
(``lectarch.models.scan``), tests and the gradient-flow probes.

The input projection is separated from the recurrence: ``project(params, x)`` computes
``W x_t + b`` for every gate at once (for all time steps in one matmul when the scan hoists it),
and ``step(params, carry, xw_t) -> (carry, y_t)`` adds only the recurrent part. For Jacobians
``dh_{t+1}/dh_t`` use ``cell.step_fn(params)``, a function ``(carry, xw_t) -> (carry, y_t)``.

Elman RNN:   h_t = act(W x_t + R h_{t-1} + b)                      (act = tanh or ReLU)

LSTM with peepholes (the lecture's six equations; g = h = tanh):

    z_t = g(W_z x_t + R_z y_{t-1} + b_z)                           block input
    i_t = sigma(W_i x_t + R_i y_{t-1} + p_i * c_{t-1} + b_i)       input gate
    f_t = sigma(W_f x_t + R_f y_{t-1} + p_f * c_{t-1} + b_f)       forget gate
    c_t = z_t * i_t + c_{t-1} * f_t                                 cell
    o_t = sigma(W_o x_t + R_o y_{t-1} + p_o * c_t + b_o)           output gate
    y_t = h(c_t) * o_t                                              block output

The variants of Greff et al., "LSTM: A Search Space Odyssey" (2017), each one change:

    NIG  no input gate          i_t = 1
    NFG  no forget gate         f_t = 1
    NOG  no output gate         o_t = 1
    NIAF no input activation    g(x) = x
    NOAF no output activation   h(x) = x
    NP   no peepholes           p_i = p_f = p_o = 0 (the parameters do not exist)
    CIFG coupled gates          f_t = 1 - i_t
    FGR  full gate recurrence   the gates also see all gates of the previous step:
                                a_{i,f,o} += [i_{t-1}, f_{t-1}, o_{t-1}] R_gates   (nine H x H blocks)

Carries are dicts: ``{"h"}`` for the Elman RNN; ``{"c", "h"}`` for the LSTM, where ``h`` is the
block output ``y`` that recurs; FGR adds ``"gates"`` (the previous ``[i, f, o]``).

Precision (``lectarch.models.dtypes``): ``dtype`` is the dtype of the matmuls' operands (float32 or
bfloat16, accumulated in float32); carries, gates and parameters stay float32.

Initialisation: ``W`` uniform in ``+-1/sqrt(D)``, each gate's ``H x H`` block of ``R`` orthogonal
(all its eigenvalues on the unit circle: spectral radius 1), or that orthogonal block times
``spectral_radius`` when it is > 0 (spectral radius exactly ``spectral_radius``: the lecture's
exploding-gradient demonstration uses 2).
"""

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from lectarch.models.activations import ACTIVATIONS
from lectarch.models.dtypes import compute_dtype, state_dtype

Params = dict[str, jax.Array]
Carry = dict[str, jax.Array]

VARIANTS = ("full", "NIG", "NFG", "NOG", "NIAF", "NOAF", "NP", "CIFG", "FGR")


def _row(v_H: jax.Array) -> jax.Array:
    """A per-unit vector as a 1 x H row, so it broadcasts over the batch without rank promotion."""
    return v_H[None, :]


def _dot(a_NxK: jax.Array, b_KxM: jax.Array, dtype: str) -> jax.Array:
    """``a @ b`` with the operands in ``dtype`` (bf16 matmuls), accumulated and returned in f32;
    "float32" leaves the operands as they are (float64 ones stay float64 under x64)."""
    if dtype == "float32":
        return a_NxK @ b_KxM
    dt = compute_dtype(dtype)
    return jnp.dot(a_NxK.astype(dt), b_KxM.astype(dt), preferred_element_type=state_dtype(dtype))


def project(params: Params, x_NxD: jax.Array, dtype: str = "float32") -> jax.Array:
    """``W x + b`` for every gate at once: ``x_NxD @ W_DxG + b_G`` (``x`` of any leading shape)."""
    lead = x_NxD.shape[:-1]
    xw_NxG = _dot(x_NxD.reshape(-1, x_NxD.shape[-1]), params["W"], dtype) + _row(params["b"])
    return xw_NxG.reshape(lead + (params["W"].shape[1],))


def _uniform(key: jax.Array, shape: tuple[int, ...], scale: float) -> jax.Array:
    return jax.random.uniform(key, shape, jnp.float32, -scale, scale)


def _orthogonal_blocks(key: jax.Array, n: int, blocks: int, radius: float = 0.0) -> jax.Array:
    """``blocks`` orthogonal n x n matrices side by side (n x blocks*n): one per gate, each times
    ``radius`` when it is > 0 (an orthogonal matrix has spectral radius 1, so the block has ``radius``)."""
    keys = jax.random.split(key, blocks)
    R_NxBN = jnp.concatenate([jax.nn.initializers.orthogonal()(k, (n, n), jnp.float32) for k in keys], axis=1)
    return R_NxBN * radius if radius > 0 else R_NxBN


@dataclasses.dataclass(frozen=True)
class ElmanCell:
    """h_t = act(W x_t + R h_{t-1} + b); the output y_t is h_t."""

    hidden: int
    activation: str = "tanh"
    dtype: str = "float32"  # of the matmuls' operands; carries and gates stay float32
    spectral_radius: float = 0.0  # of R at initialisation; 0: orthogonal (radius 1)

    gates = ("h",)

    def init_params(self, key: jax.Array, in_features: int) -> Params:
        k_w, k_r = jax.random.split(key)
        return {"W": _uniform(k_w, (in_features, self.hidden), 1 / math.sqrt(in_features)),
                "R": _orthogonal_blocks(k_r, self.hidden, 1, self.spectral_radius),
                "b": jnp.zeros((self.hidden,), jnp.float32)}

    def init_carry(self, batch: int) -> Carry:
        return {"h": jnp.zeros((batch, self.hidden), state_dtype(self.dtype))}

    def project(self, params: Params, x_NxD: jax.Array) -> jax.Array:
        return project(params, x_NxD, self.dtype)

    def recurrent(self, params: Params, carry: Carry) -> jax.Array:
        """R h_{t-1}: the only matmul inside the scan when the input projection is hoisted."""
        return _dot(carry["h"], params["R"], self.dtype)

    def update(self, params: Params, carry: Carry, a_t: jax.Array) -> tuple[Carry, jax.Array]:
        """The state from the pre-activation ``a_t = W x_t + R h_{t-1} + b``."""
        h = ACTIVATIONS[self.activation](a_t)
        return {"h": h}, h

    def step(self, params: Params, carry: Carry, xw_t: jax.Array) -> tuple[Carry, jax.Array]:
        """One step from the projected input ``xw_t = W x_t + b`` (B x H)."""
        return self.update(params, carry, xw_t + self.recurrent(params, carry))

    def step_fn(self, params: Params) -> Callable[[Carry, jax.Array], tuple[Carry, jax.Array]]:
        return lambda carry, xw_t: self.step(params, carry, xw_t)


@dataclasses.dataclass(frozen=True)
class LSTMCell:
    """The peephole LSTM of the lecture, or one of Greff et al.'s variants (module docstring)."""

    hidden: int
    variant: str = "full"
    forget_bias: float = 1.0  # initial b_f: a forget gate that starts open remembers from step 0
    dtype: str = "float32"  # of the matmuls' operands; carries and gates stay float32
    spectral_radius: float = 0.0  # of each gate's block of R at initialisation; 0: orthogonal (radius 1)

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown LSTM variant {self.variant!r}; one of {VARIANTS}")

    @property
    def gates(self) -> tuple[str, ...]:
        """The blocks that have weights W, R, b, in their order in the fused matrices."""
        dropped = {"NIG": ("i",), "NFG": ("f",), "NOG": ("o",), "CIFG": ("f",)}.get(self.variant, ())
        return tuple(g for g in ("z", "i", "f", "o") if g not in dropped)

    @property
    def peepholes(self) -> tuple[str, ...]:
        return () if self.variant == "NP" else tuple(g for g in ("i", "f", "o") if g in self.gates)

    @property
    def g(self) -> Callable[[jax.Array], jax.Array]:
        return ACTIVATIONS["identity" if self.variant == "NIAF" else "tanh"]

    @property
    def h(self) -> Callable[[jax.Array], jax.Array]:
        return ACTIVATIONS["identity" if self.variant == "NOAF" else "tanh"]

    def init_params(self, key: jax.Array, in_features: int) -> Params:
        H, G = self.hidden, len(self.gates)
        k_w, k_r, k_p, k_g = jax.random.split(key, 4)
        b = jnp.zeros((G, H), jnp.float32)
        if "f" in self.gates:
            b = b.at[self.gates.index("f")].set(self.forget_bias)
        params = {"W": _uniform(k_w, (in_features, G * H), 1 / math.sqrt(in_features)),
                  "R": _orthogonal_blocks(k_r, H, G, self.spectral_radius),
                  "b": b.reshape(G * H)}
        for name, k in zip(self.peepholes, jax.random.split(k_p, 3)):
            params[f"p_{name}"] = _uniform(k, (H,), 1 / math.sqrt(H))
        if self.variant == "FGR":
            params["R_gates"] = _uniform(k_g, (3 * H, 3 * H), 1 / math.sqrt(3 * H))
        return params

    def init_carry(self, batch: int) -> Carry:
        zeros_BxH = jnp.zeros((batch, self.hidden), state_dtype(self.dtype))
        carry = {"c": zeros_BxH, "h": zeros_BxH}
        if self.variant == "FGR":
            carry["gates"] = jnp.zeros((batch, 3 * self.hidden), state_dtype(self.dtype))
        return carry

    def project(self, params: Params, x_NxD: jax.Array) -> jax.Array:
        return project(params, x_NxD, self.dtype)

    def recurrent(self, params: Params, carry: Carry) -> jax.Array:
        """R y_{t-1} for every gate at once: the only matmul inside the scan when W x is hoisted."""
        return _dot(carry["h"], params["R"], self.dtype)

    def step(self, params: Params, carry: Carry, xw_t: jax.Array) -> tuple[Carry, jax.Array]:
        """One step from the projected input ``xw_t = W x_t + b`` (B x G*H)."""
        return self.update(params, carry, xw_t + self.recurrent(params, carry))

    def update(self, params: Params, carry: Carry, a_BxGH: jax.Array) -> tuple[Carry, jax.Array]:
        """The six equations, from the pre-activations ``a = W x_t + R y_{t-1} + b`` of all gates."""
        c_prev = carry["c"]
        a = dict(zip(self.gates, jnp.split(a_BxGH, len(self.gates), axis=-1)))
        if self.variant == "FGR":
            a_gates = jnp.split(_dot(carry["gates"], params["R_gates"], self.dtype), 3, axis=-1)
            a.update({k: a[k] + r for k, r in zip("ifo", a_gates)})

        def peephole(gate: str, c: jax.Array) -> jax.Array:
            return _row(params[f"p_{gate}"]) * c if gate in self.peepholes else 0.0

        z = self.g(a["z"])
        i = jax.nn.sigmoid(a["i"] + peephole("i", c_prev)) if "i" in a else 1.0
        if self.variant == "CIFG":
            f = 1.0 - i
        else:
            f = jax.nn.sigmoid(a["f"] + peephole("f", c_prev)) if "f" in a else 1.0
        c = z * i + c_prev * f
        o = jax.nn.sigmoid(a["o"] + peephole("o", c)) if "o" in a else 1.0
        y = self.h(c) * o

        new = {"c": c, "h": y}
        if self.variant == "FGR":
            new["gates"] = jnp.concatenate([i, f, o], axis=-1)
        return new, y

    def step_fn(self, params: Params) -> Callable[[Carry, jax.Array], tuple[Carry, jax.Array]]:
        return lambda carry, xw_t: self.step(params, carry, xw_t)


Cell = ElmanCell | LSTMCell
