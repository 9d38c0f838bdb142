"""The dropout rows: lectarch's step with ``config.prng_impl`` draws its masks with that implementation."""

import argparse
import json
import subprocess
import sys

import jax
import jax.extend
import pytest

from experiments.bench.rows import dropout
from experiments.bench.rows import transformer as T
from tests.helpers import REPO, cli_env


def _key_impls(monkeypatch, impl: str) -> tuple[set[str], int]:
    """Build the dropout row's lectarch Transformer step with ``prng_impl=impl``: the PRNG
    implementations its jaxpr wraps keys with, and how many ``random_bits`` it draws."""
    from lectarch.train import sharding

    captured = []

    class Captured(Exception):
        pass

    def recording(mesh, train_step):
        def run(state, batch):  # what the bench would compile and run, taken before it compiles
            captured.append((train_step, state, batch))
            raise Captured

        return run

    monkeypatch.setattr(sharding, "jit_train_step", recording)
    with pytest.raises(Captured):
        T._lectarch(T.QUICK, "float32", dropout=0.1, prng=impl)()()
    train_step, state, batch = captured[0]
    jaxpr = jax.make_jaxpr(train_step)(state, batch)
    impls, draws = set(), 0

    def walk(j):
        nonlocal draws
        for eqn in j.eqns:
            if eqn.primitive.name == "random_wrap":
                impls.add(eqn.params["impl"].name)
            draws += eqn.primitive.name == "random_bits"
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                walk(sub)

    walk(jaxpr.jaxpr)
    return impls, draws


def test_lectarchs_dropout_masks_come_from_the_configured_prng(monkeypatch):
    impls, draws = _key_impls(monkeypatch, "rbg")
    assert impls == {"rbg"} and draws >= 3  # three dropout sites at least: embeddings, attention, feed-forward
    impls, draws = _key_impls(monkeypatch, "threefry")
    assert impls == {"threefry2x32"} and draws >= 3


def test_the_dropout_rows_compare_prngs_and_dropout_off(tmp_path):
    works: dict[str, set[str]] = {}
    for case in dropout.cases(argparse.Namespace(quick=False, tiny=False)):
        works.setdefault((case.work, case.device), set()).add(case.impl)
    impls = {"lectarch", "lectarch, rbg keys", "lectarch, unsafe_rbg keys", "lectarch, dropout off",
             "plain JAX, threefry2x32 keys", "plain JAX, rbg keys"}
    assert works == {
        ("Transformer 2+2 d256 h4 ff1024 B=16 S=64 V=1000 f32 SGD, dropout 0.1", "cpu"): impls | {"PyTorch, dropout 0.1"},
        ("AlexNet (lecture) B=8 224x224 f32 SGD, dropout 0.5", "cpu"): impls | {"PyTorch, dropout 0.5"},
        ("Transformer 6+6 d512 h8 ff2048 B=64 S=256 V=32000 bf16 SGD, dropout 0.1", "gpu"): impls | {"PyTorch, dropout 0.1"},
        ("AlexNet (lecture) B=256 224x224 bf16 SGD, dropout 0.5", "gpu"): impls | {"PyTorch, dropout 0.5"}}
    out = tmp_path / "dropout.json"
    r = subprocess.run([sys.executable, "-m", "experiments.bench", "--only", "dropout", "--quick", "--device", "cpu",
                        "--match", "Transformer", "--no-torch", "--rounds", "1", "--warmup", "0", "--lead-in", "0",
                        "--threads", "1", "--json", str(out)], cwd=REPO, env=cli_env(1), capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = {row["impl"]: row for row in json.loads(out.read_text())["rows"]}
    assert set(rows) == impls and all(row["ms_per_step"] > 0 for row in rows.values())
    assert rows["lectarch"]["speedup_of_lectarch"] == 1.0
