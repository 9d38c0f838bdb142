"""Compute dtypes by name: the one table every model's ``dtype`` option reads (parameters stay f32)."""

import jax.numpy as jnp

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
