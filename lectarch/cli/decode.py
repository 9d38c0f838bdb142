"""lectarch decode --workdir DIR [--examples N] [--beam K] [--alpha A] [--show N] [--config.KEY=VALUE ...]

Restores the workdir's latest checkpoint of a sequence-to-sequence model (the Transformer), decodes
the first N held-out sources (greedy, or beam search with ``--beam``, key/value-cached) and reports
the exact-match sequence accuracy, and BLEU (sacrebleu) for translation. Prints one JSON line with
the numbers; ``--show`` prints a few decoded examples beside their targets first.
"""

import json
import pathlib
import time

from lectarch.cli import args as A

HELP = "decode held-out sequences with a trained seq2seq checkpoint: exact-match accuracy (and BLEU)"


def add_arguments(p) -> None:
    p.add_argument("--workdir", required=True, type=A.existing_dir, help="a training workdir (config.json and checkpoints/)")
    p.add_argument("--examples", type=A.non_negative_int, default=0, help="held-out examples to decode (0: the whole eval split)")
    p.add_argument("--beam", type=A.positive_int, default=1, help="beam size (1: greedy)")
    p.add_argument("--alpha", type=A.non_negative_float, default=0.6, help="length penalty exponent for beam search")
    p.add_argument("--batch-size", type=A.positive_int, default=128)
    p.add_argument("--show", type=A.non_negative_int, default=3, help="print this many decoded examples")
    p.epilog = "Override saved config values (e.g. data paths) with --config.KEY=VALUE."


def restore_model(workdir: str | pathlib.Path, overrides: list[str] = ()):
    """(config, dataset, model, step) of the workdir's latest checkpoint."""
    import ml_collections

    from lectarch.config import ConfigError
    from lectarch.config.load import apply_overrides
    from lectarch.data import build_dataset
    from lectarch.train.checkpoint import Checkpointer
    from lectarch.train.state import init_state, merge

    workdir = pathlib.Path(workdir)
    path = workdir / "config.json"
    if not path.exists():
        raise ConfigError(f"{workdir} has no config.json: is it a training workdir?")
    cfg = ml_collections.ConfigDict(json.loads(path.read_text()))
    apply_overrides(cfg, overrides)
    dataset = build_dataset(cfg)
    graphdef, state, _ = init_state(cfg, dataset.spec)
    ckpt = Checkpointer(workdir / "checkpoints", async_save=False)
    restored = ckpt.restore(state)
    ckpt.close()
    if restored is None:
        raise ConfigError(f"{workdir / 'checkpoints'} holds no readable checkpoint")
    state, _, step = restored
    return cfg, dataset, merge(graphdef, state), step


def run(args, overrides: list[str]) -> int:
    import numpy as np

    from lectarch.config import ConfigError
    from lectarch.models.decoding import beam_search, evaluate_decoding, greedy_decode, until_eos

    cfg, dataset, model, step = restore_model(args.workdir, overrides)
    if not hasattr(model, "init_caches"):
        raise ConfigError(f"model {cfg.model.name!r} is not a sequence-to-sequence model")
    n = args.examples or len(dataset.eval)
    max_len = int(dataset.spec.extras.get("max_len", model.max_len))
    detok = dataset.extras.get("detokenize", lambda ids: " ".join(map(str, ids)))
    for i in range(min(args.show, n)):
        e = dataset.eval[i]
        src = e["inputs"]["src"][None]
        out = (beam_search(model, src, max_len, beam_size=args.beam, alpha=args.alpha)[0] if args.beam > 1
               else greedy_decode(model, src, max_len)[0])
        print(f"source:    {detok(until_eos(e['inputs']['src'], model.eos_id, model.pad_id))}")
        print(f"target:    {detok(until_eos(e['targets'], model.eos_id, model.pad_id))}")
        print(f"decoded:   {detok(until_eos(np.asarray(out)[0], model.eos_id, model.pad_id))}\n")
    t0 = time.time()
    metrics = evaluate_decoding(model, dataset, num_examples=n, batch_size=args.batch_size,
                                beam_size=args.beam, alpha=args.alpha)
    record = {"workdir": str(args.workdir), "step": int(step), "examples": min(n, len(dataset.eval)),
              "beam": args.beam, **metrics, "seconds": round(time.time() - t0, 2)}
    print(json.dumps(record))
    return 0
