"""Every notebook in notebooks/ runs top to bottom in a fresh kernel, and is committed without outputs.

The notebooks train for a few hundred steps, enough to show learning; run here, every training in
them is cut to ``FEW`` steps (each ``"num_steps=N"`` override a cell passes, and its eval, log and
checkpoint cadence), which still runs every cell and draws every picture they show. The kernel sees
one CPU device, as on a laptop (no notebook asks for more; the suite's other processes see 8)."""

import pathlib
import re

import pytest

from tests.helpers import cli_env

nbformat = pytest.importorskip("nbformat", reason="the notebooks extra: pip install -e '.[notebooks]'")
nbclient = pytest.importorskip("nbclient", reason="the notebooks extra: pip install -e '.[notebooks]'")

REPO = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
PARTS = ["01_mlp", "02_convolution_pooling_receptive_fields", "03_alexnet_filters_feature_maps",
         "04_recurrent_networks_gradient_flow", "05_lstm_and_variants", "06_transformer_and_attention"]


def test_one_notebook_per_part_of_the_lecture():
    assert [p.stem for p in NOTEBOOKS] == PARTS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip the outputs"


FEW = {"num_steps": 10, "eval_every": 10, "checkpoint_every": 10, "log_every": 5}
CADENCE = re.compile(r'"(num_steps|eval_every|checkpoint_every|log_every)=\d+"')


def with_few_steps(book):
    """``book`` with every training cut to ``FEW`` steps; the cells that train, as a list."""
    cut = []
    for cell in book.cells:
        if cell.cell_type == "code" and CADENCE.search(cell.source):
            cell.source = CADENCE.sub(lambda m: f'"{m[1]}={FEW[m[1]]}"', cell.source)
            cut.append(cell)
    return cut


def test_few_steps_rewrites_the_cadence_of_a_training_cell():
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        'cfg = load_config("x.py", ["num_steps=200", "eval_every=100", "log_every=25", "data.T=10"])')])
    assert len(with_few_steps(book)) == 1
    assert book.cells[0].source == ('cfg = load_config("x.py", ["num_steps=10", "eval_every=10", "log_every=5", '
                                    '"data.T=10"])')


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path):
    book = nbformat.read(path, as_version=4)
    trains = [c for c in book.cells if c.cell_type == "code" and re.search(r"\btrain\(", c.source)]
    cut = with_few_steps(book)
    assert all(any(c is t for c in cut) for t in trains)  # every cell that trains is cut short
    client = nbclient.NotebookClient(book, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=cli_env(1))  # raises CellExecutionError, naming the cell, on any error
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no picture was shown"
