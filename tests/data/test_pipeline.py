import numpy as np

from lectarch.data import build_dataset, pipeline
from tests.helpers import config


def _targets(it, n):
    return [next(it)["targets"] for _ in range(n)]


def test_order_is_a_function_of_seed_and_step():
    ds = build_dataset(config("mlp_digits"))
    a = _targets(pipeline.train_batches(ds, batch_size=32, seed=3), 50)
    b = _targets(pipeline.train_batches(ds, batch_size=32, seed=3), 50)
    c = _targets(pipeline.train_batches(ds, batch_size=32, seed=4), 50)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
    # restarting at a step gives exactly the batches from that step on
    resumed = _targets(pipeline.train_batches(ds, batch_size=32, seed=3, start_step=37), 13)
    assert all(np.array_equal(x, y) for x, y in zip(a[37:], resumed))


def test_each_epoch_is_a_fresh_permutation():
    ds = build_dataset(config("mlp_digits"))
    n = len(ds.train)
    stream = pipeline.train_stream(ds, seed=0)
    first = [stream[i]["inputs"].tobytes() for i in range(n)]
    second = [stream[n + i]["inputs"].tobytes() for i in range(n)]
    assert sorted(first) == sorted(second)  # same examples
    assert first != second  # different order


def test_processes_read_disjoint_parts_of_the_global_batch():
    ds = build_dataset(config("mlp_digits"))
    whole = pipeline.train_batch_at(ds, batch_size=32, seed=1, step=9)
    parts = [next(pipeline.train_batches(ds, batch_size=32, seed=1, start_step=9, process_index=p, process_count=4))
             for p in range(4)]
    np.testing.assert_array_equal(np.concatenate([p["inputs"] for p in parts]), whole["inputs"])


def test_eval_batches_cover_the_split_once_with_padding_weights():
    ds = build_dataset(config("mlp_digits"))
    batches = list(pipeline.eval_batches(ds, batch_size=64))
    weights = np.concatenate([b["weight"] for b in batches])
    assert weights.sum() == len(ds.eval) and len(weights) == 64 * len(batches)
    targets = np.concatenate([b["targets"] for b in batches])[weights > 0]
    np.testing.assert_array_equal(targets, [ds.eval[i]["targets"] for i in range(len(ds.eval))])


def test_grain_worker_processes_give_the_same_batches():
    ds = build_dataset(config("mlp_digits"))
    threads = _targets(pipeline.train_batches(ds, batch_size=32, seed=5, start_step=3), 6)
    workers = _targets(pipeline.train_batches(ds, batch_size=32, seed=5, start_step=3, num_workers=2), 6)
    assert all(np.array_equal(x, y) for x, y in zip(threads, workers))
