"""The long-range tasks: their definitions, determinism per seed, and their trivial baselines."""

import math

import numpy as np
import pytest

from lectarch.data import sequence_tasks as st


def cfg(name, **kw):
    d = st.default_config(name)
    d.update({"num_train": 50, "num_eval": 20, **kw})
    return d


@pytest.mark.parametrize("name", st.TASKS)
def test_deterministic_per_seed_and_different_across_seeds(name):
    a, b, c = st.build(cfg(name, T=30), 0), st.build(cfg(name, T=30), 0), st.build(cfg(name, T=30), 1)
    flat = lambda e: np.concatenate([np.ravel(v) for v in (e["inputs"].values() if isinstance(e["inputs"], dict)  # noqa: E731
                                                             else [e["inputs"]])] + [np.ravel(e["targets"])])
    for i in (0, 7):
        np.testing.assert_array_equal(flat(a.train[i]), flat(b.train[i]))
    assert any(not np.array_equal(flat(a.train[i]), flat(c.train[i])) for i in range(5))
    assert not np.array_equal(flat(a.train[0]), flat(a.eval[0]))  # train and eval are different draws


def test_adding_le_definition_and_baseline():
    ds = st.build(cfg("adding", T=40, num_eval=1500), 0)
    targets = []
    for i in range(len(ds.eval)):
        e = ds.eval[i]
        values, marker = e["inputs"][:, 0], e["inputs"][:, 1]
        marked = np.flatnonzero(marker == 1)
        assert len(marked) == 2 and marked[0] < 20 <= marked[1]
        assert 0 <= values.min() and values.max() <= 1
        np.testing.assert_allclose(e["targets"], values[marked].sum(), rtol=1e-6)
        targets.append(e["targets"])
    mse_of_predicting_1 = np.mean((np.array(targets) - 1) ** 2)
    assert ds.baseline["mse"] == pytest.approx(1 / 6)
    assert mse_of_predicting_1 == pytest.approx(1 / 6, abs=0.02)


def test_adding_hochreiter_definition_and_baseline():
    ds = st.build(cfg("adding", T=40, variant="hochreiter", num_eval=1500), 0)
    targets = []
    for i in range(len(ds.eval)):
        values, marker = ds.eval[i]["inputs"][:, 0], ds.eval[i]["inputs"][:, 1]
        marked = np.flatnonzero(marker == 1)
        assert len(marked) == 2 and marked[0] < 10 and marked[1] < 19
        np.testing.assert_allclose(ds.eval[i]["targets"], 0.5 + values[marked].sum() / 4, rtol=1e-6)
        targets.append(ds.eval[i]["targets"])
    assert np.mean((np.array(targets) - 0.5) ** 2) == pytest.approx(ds.baseline["mse"], abs=0.006)
    assert ds.baseline["mse"] == pytest.approx(1 / 24)


def test_copy_memory_task_and_its_memoryless_baseline():
    T = 15
    ds = st.build(cfg("copy_memory", T=T), 0)
    e = ds.train[3]
    assert e["inputs"].shape == e["targets"].shape == (T + 20,)
    np.testing.assert_array_equal(e["targets"][-10:], e["inputs"][:10])
    assert set(e["inputs"][:10]) <= set(range(1, 9)) and e["inputs"][T + 9] == 9
    np.testing.assert_array_equal(np.delete(e["inputs"], list(range(10)) + [T + 9]), 0)
    np.testing.assert_array_equal(e["targets"][:-10], 0)
    # the memoryless predictor: blank with certainty, then uniform over the 8 symbols
    ce = np.mean([0.0] * (T + 10) + [math.log(8)] * 10)
    assert ds.baseline["loss"] == pytest.approx(ce) == pytest.approx(10 * math.log(8) / (T + 20))


def test_temporal_order_class_is_the_order_of_the_two_symbols():
    T = 50
    ds = st.build(cfg("temporal_order", T=T), 0)
    seen = set()
    for i in range(len(ds.train)):
        e = ds.train[i]
        relevant = np.flatnonzero(e["inputs"] < 2)
        assert len(relevant) == 2 and 5 <= relevant[0] < 10 and 20 <= relevant[1] < 25
        assert e["targets"] == 2 * e["inputs"][relevant[0]] + e["inputs"][relevant[1]]
        seen.add(int(e["targets"]))
    assert seen == {0, 1, 2, 3}
    assert ds.baseline == {"loss": pytest.approx(math.log(4)), "accuracy": 0.25}


def test_counting():
    ds = st.build(cfg("counting", vocab=10, length=6), 0)
    e = ds.train[0]
    k = int(np.argmax(e["inputs"]))
    np.testing.assert_array_equal(e["targets"], (k + np.arange(6)) % 10)
    assert ds.spec.output_length == 6 and ds.baseline == {"loss": pytest.approx(math.log(10)), "accuracy": 0.1}
