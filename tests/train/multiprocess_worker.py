"""One process of the two-process test in test_distributed.py (not a test itself).

    python tests/train/multiprocess_worker.py PROCESS_ID NUM_PROCESSES PORT FRESH_WORKDIR RESUME_WORKDIR OVERRIDE...

Joins the run through the command line's own flags, trains from scratch in FRESH_WORKDIR, then
resumes RESUME_WORKDIR (a checkpoint written by one process on 8 devices, once RESUME_WORKDIR/READY
exists) in the same runtime.
"""

import pathlib
import sys
import time

import argparse

from lectarch.cli import train as train_command
from lectarch.experiment import load_config
from lectarch.experiment import train

if __name__ == "__main__":
    pid, n, port, fresh, resume, *overrides = sys.argv[1:]
    config = "experiments/configs/mlp_digits.py"
    parser = argparse.ArgumentParser()
    train_command.add_arguments(parser)  # `lectarch train` itself, without the other commands' imports
    args = parser.parse_args(["--config", config, "--workdir", fresh, "--coordinator", f"localhost:{port}",
                              "--num-processes", n, "--process-id", pid])
    code = train_command.run(args, overrides)
    if code:
        sys.exit(code)
    ready = pathlib.Path(resume) / "READY"  # the test writes the one-process checkpoint meanwhile
    for _ in range(1200):
        if ready.exists():
            break
        time.sleep(0.1)
    result = train(load_config(config, overrides), resume)  # the runtime is already up
    print(f"process {pid}: resumed run {result.status} at step {result.step}", file=sys.stderr)
    sys.exit(result.exit_code)
