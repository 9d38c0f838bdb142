"""``python -m experiments.bench``: the training-step benchmark (``experiments.bench.run``)."""

import sys

from experiments.bench.run import main

sys.exit(main())
