"""lectarch.train.xla_cpu: convolutions leave YNNPACK, matrix products stay on it; the user's flag wins.
(Remat's barriers, the second setting, are tested by what they do: tests/models/test_remat.py.)

Each case runs in a fresh interpreter: XLA reads XLA_FLAGS once, when JAX starts its CPU backend."""

import os
import subprocess
import sys

PROBE = """
import sys
from lectarch.train import xla_cpu
flags = xla_cpu.apply()
import jax, jax.numpy as jnp
x, w = jnp.ones((2, 27, 27, 64)), jnp.ones((5, 5, 64, 128))  # AlexNet's second convolution
conv = jax.jit(lambda x, w: jax.lax.conv_general_dilated(x, w, (1, 1), "SAME",
                                                         dimension_numbers=("NHWC", "HWIO", "NHWC")))
dot = jax.jit(lambda a, b: a @ b)
def ynn(hlo):  # the fused computation that holds the operation is a YNNPACK one
    return any("ynn" in line for line in hlo.splitlines() if "fusion(" in line and "kCustom" in line)
print("flags=" + flags)
print(ynn(conv.lower(x, w).compile().as_text()), ynn(dot.lower(jnp.ones((64, 64)), jnp.ones((64, 64))).compile().as_text()))
"""


def _probe(**env):
    e = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "LECTARCH_XLA_FLAGS")}
    e.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=e).stdout
    flags, kinds = out.strip().splitlines()[-2:]
    return flags.removeprefix("flags="), kinds


def test_convolutions_leave_ynnpack_and_matrix_products_stay():
    flags, kinds = _probe()
    assert "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution" in flags
    assert kinds == "False True"


def test_without_it_jaxlib_sends_convolutions_to_ynnpack():
    """The control: the setting is what moves the convolution (so the test above can fail)."""
    flags, kinds = _probe(LECTARCH_XLA_FLAGS="default")
    assert flags == "" and kinds == "True True"


def test_the_users_own_setting_of_a_flag_wins():
    flags, _ = _probe(XLA_FLAGS="--xla_cpu_experimental_ynn_fusion_type=individual_dot")
    assert flags == "--xla_cpu_experimental_ynn_fusion_type=individual_dot --xla_disable_hlo_passes=cse_barrier_expander"
    flags, _ = _probe(XLA_FLAGS="--xla_disable_hlo_passes=fusion")
    assert flags == "--xla_disable_hlo_passes=fusion --xla_cpu_experimental_ynn_fusion_type=-individual_convolution"
