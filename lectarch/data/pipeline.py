"""Batches for training and evaluation, the same way for every dataset.

The training stream is a pure function of (seed, step): epoch ``e`` is a permutation of the train
split drawn from (seed, e) by grain's epoch-aware shuffle, the epochs are concatenated, and global
batch ``s`` is rows ``[s*B, (s+1)*B)`` of that stream. Process ``p`` of ``P`` reads only its
``B/P`` rows of each global batch, so the data position saved in a checkpoint is just the step, and
a run restarted at step ``s`` (on any number of processes) sees exactly the batches it would have.
"""

from collections.abc import Iterator

import grain
import numpy as np

from lectarch.data.spec import Dataset


def as_map_dataset(split) -> grain.MapDataset:
    """A split as a ``grain.MapDataset``: itself, or a plain sequence of elements wrapped."""
    return split if isinstance(split, grain.MapDataset) else grain.MapDataset.source(split)


def train_stream(dataset: Dataset, seed: int) -> grain.MapDataset:
    """The infinite, deterministically shuffled (and augmented) stream of training elements."""
    stream = as_map_dataset(dataset.train).shuffle(seed=seed).repeat(None)
    if dataset.augment is not None:
        stream = stream.random_map(dataset.augment, seed=seed + 1)
    return stream


def train_batches(dataset: Dataset, *, batch_size: int, seed: int, start_step: int = 0,
                  process_index: int = 0, process_count: int = 1,
                  num_threads: int = 4, prefetch: int = 8, num_workers: int = 0) -> Iterator[dict]:
    """This process's part of each global batch, from ``start_step`` on.

    ``num_workers > 0`` decodes and augments in that many grain worker processes (for image
    pipelines); the batches are the same, in the same order, as with none.
    """
    if batch_size % process_count:
        raise ValueError(f"batch_size {batch_size} is not divisible by {process_count} processes")
    local = batch_size // process_count
    batched = train_stream(dataset, seed).batch(local, drop_remainder=True)
    mine = batched[start_step * process_count + process_index::process_count]
    options = grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=prefetch)
    stream = mine.to_iter_dataset(options)
    if num_workers > 0:
        from absl import flags

        if not flags.FLAGS.is_parsed():  # grain's workers read absl flags; we take no absl flags
            flags.FLAGS.mark_as_parsed()
        stream = stream.mp_prefetch(grain.MultiprocessingOptions(num_workers=num_workers))
    return iter(stream)


def train_batch_at(dataset: Dataset, *, batch_size: int, seed: int, step: int) -> dict:
    """The whole global batch of one step (tests, inspection, pictures)."""
    return train_stream(dataset, seed).batch(batch_size, drop_remainder=True)[step]


def eval_batches(dataset: Dataset, *, batch_size: int, process_index: int = 0,
                 process_count: int = 1) -> Iterator[dict]:
    """The eval split in order, the last batch padded; ``weight`` is 1 for real rows, 0 for padding."""
    n = len(dataset.eval)
    if batch_size % process_count:
        raise ValueError(f"eval batch size {batch_size} is not divisible by {process_count} processes")
    local = batch_size // process_count
    for start in range(0, n, batch_size):
        rows = range(start + process_index * local, start + (process_index + 1) * local)
        elems = [dataset.eval[min(i, n - 1)] for i in rows]
        batch = stack(elems)
        batch["weight"] = np.array([1.0 if i < n else 0.0 for i in rows], np.float32)
        yield batch


def stack(elems: list[dict]) -> dict:
    """Elements (dicts of arrays) stacked into one batch: each leaf gains a leading batch axis."""
    import jax

    return jax.tree.map(lambda *xs: np.stack(xs), *elems)
