"""A plug-in is a built-in's equal: the built-in 1-D and 2-D CNNs and the TCN, copied under another
module name outside the package, give the same output as the built-ins from every command.

Nothing may decide behaviour by a model's or dataset's name (lectarch.models.capabilities decide)."""

import pathlib
import shutil

import numpy as np
import pytest
from PIL import Image

from lectarch.cli import main
from tests.helpers import LEAN, REPO, flags

CASES = {  # config -> (built-in model module, its model.name)
    "cnn_digits": ("cnn", "cnn"),
    "cnn1d_digits": ("cnn", "cnn"),
    "tcn_adding": ("tcn", "tcn"),
}
# No pictures at train's eval: `visualize` draws the same pictures of the same checkpoint under the same
# names (<name>_step2.png), so the pictures compared are visualize's either way; drawing them twice is slow.
TINY = flags(("num_steps=2", "log_every=1", "eval_every=2", "checkpoint_every=2", "progress=false", "batch_size=16",
              "eval_batch_size=16", *LEAN))
# A small TCN: 3 levels (dilations 1, 2, 4; receptive field 29 <= T) of 8 channels
DATA = {"tcn_adding": ["--config.data.T=32", "--config.data.num_train=64", "--config.data.num_eval=16",
                       "--config.model.levels=3", "--config.model.channels=8"]}


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("my_models")
    for module in {m for m, _ in CASES.values()}:
        shutil.copy(pathlib.Path(REPO) / "lectarch" / "models" / f"{module}.py", folder / f"my_{module}.py")
    return folder


def _run(capsys, *args: str) -> str:
    code = main(list(args))
    out = capsys.readouterr()
    assert code == 0, out.err[-2000:]
    assert "Traceback" not in out.err
    return out.out


def _both(capsys, copies, case, *args, out_dir=None):
    """The command's output for the built-in and for the copy, the model names made equal."""
    module, name = CASES[case]
    config = f"{REPO}/experiments/configs/{case}.py"
    plug = [f"--config.model.name=my_{module}", f"--config.import_path={copies}"]
    outs = []
    for extra, label in (([], "builtin"), (plug, "copy")):
        more = ["--out", str(out_dir / label)] if out_dir else []
        text = _run(capsys, *args, "--config", config, *more, *DATA.get(case, []), *extra)
        outs.append(text.replace(f"my_{module}", name).replace(str(out_dir / label) if out_dir else "\0", "OUT"))
    return outs


@pytest.mark.parametrize("case", list(CASES))
def test_receptive_field_check_and_inspect_are_the_same_for_a_copy(case, copies, capsys):
    builtin, copy = _both(capsys, copies, case, "receptive-field", "--check")
    assert builtin == copy and "ok" in builtin and "MISMATCH" not in builtin
    builtin, copy = _both(capsys, copies, case, "inspect", "--what", "forward", "--no-compile")
    assert builtin == copy and "=== forward" in builtin


@pytest.mark.parametrize("case", list(CASES))
def test_gradflow_and_pictures_are_the_same_for_a_copy(case, copies, capsys, tmp_path):
    builtin, copy = _both(capsys, copies, case, "gradflow", "--batch-size", "16", out_dir=tmp_path)
    assert builtin == copy
    assert (tmp_path / "builtin" / "layers.csv").read_text() == (tmp_path / "copy" / "layers.csv").read_text()

    module, name = CASES[case]
    config = f"{REPO}/experiments/configs/{case}.py"
    for label, extra in (("builtin", []), ("copy", [f"--config.model.name=my_{module}", f"--config.import_path={copies}"])):
        _run(capsys, "train", "--config", config, "--workdir", str(tmp_path / f"run_{label}"), *TINY,
             *DATA.get(case, []), *extra)
        _run(capsys, "visualize", "--workdir", str(tmp_path / f"run_{label}"))
    pictures = {label: sorted((tmp_path / f"run_{label}" / "pictures").glob("*.png")) for label in ("builtin", "copy")}
    assert [p.name for p in pictures["builtin"]] == [p.name for p in pictures["copy"]] and pictures["builtin"]
    for a, b in zip(pictures["builtin"], pictures["copy"]):
        if name in a.read_bytes().decode("latin-1"):  # a picture whose text names the model: same size at least
            assert Image.open(a).size == Image.open(b).size
        else:
            np.testing.assert_array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))
