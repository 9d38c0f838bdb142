"""``lectarch inspect --what summary``: every built-in config's per-layer table accounts for every
parameter of the model the trainer builds; FLOPs per call where nnx.tabulate can trace."""

import glob
import os
import re

import jax
import pytest

from lectarch.experiment import load_config
from lectarch.experiment import build_run
from lectarch.inspect.summary import abstract_model, flops_table, layer_rows
from tests.conftest import REPO
from tests.helpers import lectarch

CONFIGS = sorted(glob.glob(os.path.join(REPO, "experiments", "configs", "*.py")))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: os.path.basename(p)[:-3])
def test_every_parameter_is_in_one_row(path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=8):  # TFDS configs: shapes only, no download
        run = build_run(load_config(path), batch_size=1, abstract=True, num_devices=1)
    rows = layer_rows(abstract_model(run))
    leaves = jax.tree_util.tree_leaves_with_path(run.state.params)
    assert sum(r.count for r in rows) == sum(leaf.size for _, leaf in leaves)
    assert sum(len(r.shapes) for r in rows) == len(leaves)  # each parameter array once
    assert len({r.path for r in rows}) == len(rows)


def test_mlp_rows_and_flops_match_the_layer_sizes():
    cfg = load_config(os.path.join(REPO, "experiments", "configs", "mlp_digits.py"), ["model.depth=2", "model.width=16"])
    run = build_run(cfg, batch_size=1, abstract=True, num_devices=1)
    rows = {r.path: r for r in layer_rows(abstract_model(run))}
    assert {p: (r.type, r.shapes) for p, r in rows.items()} == {
        "hidden/0": ("Linear", {"bias": (16,), "kernel": (64, 16)}),
        "hidden/1": ("Linear", {"bias": (16,), "kernel": (16, 16)}),
        "out": ("Linear", {"bias": (10,), "kernel": (16, 10)})}
    table = flops_table(run)
    for path, (n_in, n_out) in {"hidden/0": (64, 16), "hidden/1": (16, 16), "out": (16, 10)}.items():
        (line,) = [ln for ln in table.splitlines() if re.match(rf"│ {re.escape(path)}\s+│", ln)]
        flops = int(line.split("│")[5])
        assert flops == 2 * n_in * n_out + n_out  # a multiply-add per weight, an add per bias


def test_cli_prints_the_table_and_the_total():
    r = lectarch("inspect", "--config", "experiments/configs/cnn_digits.py", "--what", "summary", devices=1)
    assert r.returncode == 0, r.stderr
    m = load_config(os.path.join(REPO, "experiments", "configs", "cnn_digits.py")).model
    (c1, c2), k = m.channels, m.kernel_size
    side = 8 // m.pool_size // m.pool_size  # 8x8 digits, "same" convolutions, two poolings
    # counted by hand from the config: each convolution k*k*C_in*C_out + C_out, the dense layer from
    # the pooled feature map to the 10 classes
    rows = {"features/convs/0": k * k * 1 * c1 + c1, "features/convs/1": k * k * c1 * c2 + c2,
            "out": side * side * c2 * 10 + 10}
    assert sum(rows.values()) == 6090  # the count the config's docstring states
    for path, count in rows.items():
        assert re.search(rf"^{re.escape(path)}\s.*\s{count:,}$", r.stdout, re.M), (path, count, r.stdout)
    assert f"total parameters: {sum(rows.values()):,}" in r.stdout
    assert re.search(r"^path\s+type\s+parameter shapes\s+parameters$", r.stdout, re.M)
