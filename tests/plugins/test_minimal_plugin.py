"""The minimal model, dataset and config of docs/your-own-model.md, copied out of the guide into a
folder outside the repository and run there, through the ``lectarch`` console script, as written."""

import pathlib
import re
import shutil
import subprocess
import sys

from PIL import Image

from tests.helpers import REPO, cli_env

GUIDE = pathlib.Path(REPO) / "docs" / "your-own-model.md"
MAX_LINES = 40


def guide_files() -> dict[str, str]:
    """The guide's Python blocks that start with ``# NAME.py``, by file name."""
    blocks = re.findall(r"^```python\n(.*?)^```", GUIDE.read_text(), flags=re.S | re.M)
    return {m.group(1): body for body in blocks if (m := re.match(r"# (\w+\.py)\n", body))}


def _lectarch(cwd: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    script = shutil.which("lectarch", path=str(pathlib.Path(sys.executable).parent)) or "lectarch"
    out = subprocess.run([script, *args], cwd=cwd, env=dict(cli_env(1), PYTHONPATH=REPO), capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, f"lectarch {' '.join(args)} -> {out.returncode}\n{out.stderr[-3000:]}"
    assert "Traceback" not in out.stderr and "WARNING" not in out.stderr, out.stderr[-2000:]
    return out


def test_the_guides_minimal_model_and_dataset_run_from_their_own_folder(tmp_path):
    files = guide_files()
    assert sorted(files) == ["my_config.py", "my_data.py", "my_model.py"]
    for name in ("my_model.py", "my_data.py"):
        assert len(files[name].splitlines()) < MAX_LINES, name  # short enough to copy
    folder = tmp_path / "my_project"
    folder.mkdir()
    assert not str(folder).startswith(REPO)
    for name, text in files.items():
        (folder / name).write_text(text)
    out = _lectarch(folder, "train", "--config", "my_config.py", "--workdir", "run")
    assert "accuracy" in out.stdout
    out = _lectarch(folder, "visualize", "--workdir", "run")
    assert "my_model at step 200" in out.stdout
    with Image.open(folder / "run" / "pictures" / "hidden_weights_step200.png") as png:
        assert png.size[0] >= 480 and png.size[1] >= 320
