"""``python -m experiments.bench``: the training-step benchmark (``experiments.bench.run``)."""

from experiments.bench.run import main
from experiments.script import run_script

run_script(main, "python -m experiments.bench")
