"""`lectarch inspect --what memory`: the per-device peak of each memory tool, before anything runs."""

from lectarch.cli import main
from lectarch.experiment import load_config
from lectarch.inspect.memory_table import VARIANTS, memory_rows
from tests.helpers import flags

CONFIG = "experiments/configs/mlp_digits.py"
# activations dominate: 4096 rows x 128 units x 4 layers against 50k parameters
BIG_BATCH = ["model.width=128", "model.depth=4", "batch_size=4096"]


def test_accumulation_and_bfloat16_lower_the_peak_of_an_activation_bound_step(repo_root):
    load = lambda extra: load_config(f"{repo_root}/{CONFIG}", [*BIG_BATCH, *extra])  # noqa: E731
    rows = {r.variant: r for r in memory_rows(load, num_devices=2)}
    assert list(rows) == [name for name, _ in VARIANTS]
    assert all(r.per_device_batch == 2048 for r in rows.values())
    base = rows["as configured"].peak_bytes
    assert rows["accumulate 2"].peak_bytes > rows["accumulate 8"].peak_bytes
    assert rows["accumulate 8"].peak_bytes < base / 2
    assert rows["bfloat16"].peak_bytes < base
    assert rows["bfloat16 + remat + accumulate 8"].peak_bytes < base / 2


def test_the_table_marks_what_fits_the_device_memory_given(repo_root, capsys):
    assert main(["inspect", "--config", f"{repo_root}/{CONFIG}", "--what", "memory", "--devices", "2",
                 "--device-memory-gib", "0.01", *flags(BIG_BATCH)]) == 0
    out = capsys.readouterr().out
    lines = {line.split("  ")[0].strip(): line for line in out.splitlines() if line[:1].isalpha()}
    assert lines["as configured"].endswith("NO") and lines["accumulate 8"].endswith("yes")
    assert "0.01 GiB per device" in out
