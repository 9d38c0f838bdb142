"""Look inside an experiment without training it: its programs, their cost, and how gradients flow.

- ``programs``: the three pure programs of a run (forward, loss gradient, the trainer's own train
  step of either kind), as functions of ``lectarch.train.run.Run``.
- ``jaxpr``: their jaxprs and a histogram of primitives (recursing into scan, jit, cond, ...).
- ``costs``: lower and compile them: FLOPs and bytes (``cost_analysis``), memory
  (``memory_analysis``), lower/compile time, StableHLO and optimised HLO text.
- ``memory_table``: what fits before anything runs: the per-device peak of the train step as
  configured and with remat, gradient accumulation and bfloat16.
- ``summary``: the per-layer parameter table (and FLOPs per layer where ``nnx.tabulate`` traces).
- ``gradflow``: gradient norms per layer (any nnx model, grouped by submodule path).
- ``timeflow``: gradients through time in a recurrent model: dL/dh_t for every t in one backward
  pass, and the singular values of dh_T/dh_t as a product of step Jacobians.
- ``program_grads`` (with ``jaxpr_sites``, ``module_scopes``): ||dL/dv|| for every intermediate value
  of the forward program, one zero perturbation per equation output, grouped by module and primitive.
- ``backward_nan``: where a non-finite value first enters the backward pass (primitive, module, line).
- ``mean_field``: the mean-field theory of signal propagation (q*, chi_1, the order-to-chaos line).
- ``scan_vs_unroll``: jaxpr size, compile time and step time of ``lax.scan`` against a Python loop.
- ``report``: where a probe's numbers go (PNG, CSV, JSON, TensorBoard image).

Commands: ``lectarch inspect`` (lectarch/cli/inspect.py) and ``lectarch gradflow`` (lectarch/cli/gradflow.py).
The gradient-flow numbers logged during training are ``lectarch.train.flow``'s, which these build on.
"""
