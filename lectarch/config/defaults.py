"""The keys every experiment config shares. Experiment files start from ``base_config()``."""

import ml_collections

NONFINITE_CHECKS = ("loss", "params")  # config.nonfinite_check; lectarch.train.step.apply_gradients
NONFINITE_CHECK_DEFAULT = "loss"
PRNG_IMPLS = ("threefry", "rbg", "unsafe_rbg")  # config.prng_impl; lectarch.train.state.init_state
PRNG_IMPL_DEFAULT = "threefry"


def base_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0
    c.num_steps = 1000
    c.batch_size = 64
    c.eval_batch_size = 256
    c.learning_rate = 1e-3
    c.log_every = 50
    c.eval_every = 250
    c.checkpoint_every = 250
    c.max_to_keep = 3
    c.data_workers = 0  # grain worker processes for decoding/augmentation (0: threads in this process)
    c.num_devices = 0  # 0: every device this process sees; data parallel over all of them.
    c.objective = "classification"
    c.label_smoothing = 0.0  # classification/tokens: targets (1 - eps) one-hot + eps / classes
    c.log_grad_norms = False  # per-parameter-group gradient norms in metrics.jsonl
    # every N steps (0: never): per-layer ||dL/dW||, ||dL/dW||/||W|| and, for recurrent models,
    # ||dL/dh_t|| over t, from a program of their own (split "grad_flow" in metrics.jsonl, TensorBoard
    # histograms), with a warning when the gradient vanishes or explodes across the network
    c.log_grad_flow_every = 0
    # what the lean steps (those whose metrics are not read) check before they update the state:
    # "loss" (the loss only: the update stays one fused pass over the parameters) or "params"
    # (the loss and every updated parameter). Logged, evaluated and checkpointed steps always check
    # both, so no checkpoint ever holds a non-finite parameter (docs/faults.md)
    c.nonfinite_check = NONFINITE_CHECK_DEFAULT
    # micro-batches per batch: each step sums their gradients in one compiled program (a lax.scan), so
    # the activations of one micro-batch are alive at a time; batch_size must be a multiple of
    # accumulate_steps x devices. The update equals the whole batch's (to float rounding)
    c.accumulate_steps = 1
    # JAX's random-bit generator for the run's key (dropout masks): "threefry" (the same bits on every
    # backend), "rbg" or "unsafe_rbg" (XLA's RngBitGenerator: bits differ between CPU, GPU and TPU).
    # Each keeps exact resume and equal losses on 1 and 8 CPU devices (tests/train/test_prng.py)
    c.prng_impl = PRNG_IMPL_DEFAULT
    c.ema = ml_collections.ConfigDict()  # an exponential moving average of the parameters, in the state
    c.ema.decay = 0.0  # 0: off; else ema <- decay * ema + (1 - decay) * params after every update
    c.ema.evaluate = False  # evaluate (and draw, decode) the average instead of the raw parameters
    c.pictures = True  # model pictures (filters, attention, ...) at eval steps, when the model has them
    c.progress = True  # console progress bar (a plain line every progress_every_s when stderr is no terminal)
    c.progress_every_s = 30.0
    # JAX's persistent compilation cache (lectarch.runtime.compilation_cache): "auto" (on, in
    # $LECTARCH_COMPILATION_CACHE or ~/.cache/lectarch/jax), "off", or a directory
    c.compilation_cache = "auto"
    c.import_path = ""  # folder whose modules config.model.name etc. may name (set to the config file's folder)

    c.profile = ml_collections.ConfigDict()  # jax.profiler trace of train steps start+1..start+steps
    c.profile.start = 5  # steps done before the trace starts (leave compilation out of it)
    c.profile.steps = 0  # 0: off

    c.optimizer = ml_collections.ConfigDict()
    c.optimizer.name = "adam"
    c.optimizer.momentum = 0.9  # momentum / nesterov
    c.optimizer.b1 = 0.9
    c.optimizer.b2 = 0.999
    c.optimizer.eps = 1e-8
    c.optimizer.weight_decay = 0.0

    c.schedule = ml_collections.ConfigDict()
    c.schedule.name = "constant"  # constant | cosine | warmup_cosine | linear_warmup | inverse_sqrt
    c.schedule.warmup_steps = 0
    c.schedule.end_factor = 0.0  # cosine decays to learning_rate * end_factor

    c.clip = ml_collections.ConfigDict()
    c.clip.global_norm = 0.0  # 0: off
    c.clip.elementwise = 0.0  # 0: off

    c.model = ml_collections.ConfigDict()
    c.model.name = "mlp"
    c.data = ml_collections.ConfigDict()
    c.data.name = "digits"
    return c
