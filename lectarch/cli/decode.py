"""lectarch decode --workdir DIR [--examples N] [--beam K] [--alpha A] [--show N] [--config.KEY=VALUE ...]

Restores the workdir's latest checkpoint of a sequence-to-sequence model (the Transformer), decodes
the first N held-out sources (greedy, or beam search with ``--beam``, key/value-cached) and reports
the exact-match sequence accuracy, and BLEU (sacrebleu) for translation. Prints one JSON line with
the numbers; ``--show`` prints a few decoded examples beside their targets first.
"""

import json
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


def _beam_bytes(model, src_1xS, max_len: int) -> int:
    """Bytes one beam of one source holds: its key/value caches, its copy of the encoder's
    memories, its tokens and its candidates' scores over the vocabulary (abstractly evaluated)."""
    import jax

    from lectarch.train.memory import tree_bytes

    caches = jax.eval_shape(lambda: model.init_caches(1, max_len))
    memories = jax.eval_shape(lambda s: model.memories(model.encode(s)[0]), src_1xS)
    return tree_bytes(caches) + tree_bytes(memories) + 4 * (max_len + 1) + 3 * 4 * model.tgt_vocab


def run(args, overrides: list[str]) -> int:
    import numpy as np

    from lectarch.config import ConfigError
    from lectarch.models.capabilities import Seq2SeqDecoder
    from lectarch.models.decoding import beam_search, evaluate_decoding, greedy_decode, until_eos
    from lectarch.experiment import open_run

    run = open_run(args.workdir, overrides=overrides)
    cfg, dataset, model, step = run.cfg, run.dataset, run.model, run.step
    if not isinstance(model, Seq2SeqDecoder):
        raise ConfigError(f"model {cfg.model.name!r} is not a sequence-to-sequence decoder "
                          "(lectarch.models.capabilities.Seq2SeqDecoder)")
    n = args.examples or len(dataset.eval)
    max_len = dataset.spec.max_len or model.max_len
    detok = dataset.detokenize or (lambda ids: " ".join(map(str, ids)))
    if args.beam > 1:  # K beams of every source of a decode batch: sized like a batch, before any is built
        from lectarch.train.memory import check_batch_sizes

        sources = min(args.batch_size, n, len(dataset.eval))
        check_batch_sizes({"--beam": args.beam}, sources * _beam_bytes(model, dataset.eval[0]["inputs"]["src"][None],
                                                                       max_len))
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
