"""Look inside an experiment without training it: its programs, their cost, and how gradients flow.

- ``programs``: the three pure programs of a config (forward, loss gradient, whole train step),
  built from ``lectarch.train.step`` exactly as the trainer builds them.
- ``jaxpr``: their jaxprs and a histogram of primitives (recursing into scan, jit, cond, ...).
- ``costs``: lower and compile them: FLOPs and bytes (``cost_analysis``), memory
  (``memory_analysis``), lower/compile time, StableHLO and optimised HLO text.
- ``gradflow``: gradient norms per layer (any nnx model, grouped by submodule path).
- ``timeflow``: gradients through time in a recurrent model: dL/dh_t for every t in one backward
  pass, and the singular values of dh_T/dh_t as a product of step Jacobians.
- ``scan_vs_unroll``: jaxpr size, compile time and step time of ``lax.scan`` against a Python loop.
- ``report``: where a probe's numbers go (PNG, CSV, JSON, TensorBoard image).

Commands: ``lectarch inspect`` (lectarch/cli/inspect.py) and ``lectarch gradflow`` (lectarch/cli/gradflow.py).
"""
