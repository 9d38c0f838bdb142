"""One process of the two-process preemption tests in test_preemption.py (not a test itself).

    python tests/train/preemption_worker.py PROCESS_ID PORT WORKDIR MOMENT OVERRIDE...

Joins a 2-process run and trains experiments/configs/mlp_digits.py in WORKDIR (or resumes it).
MOMENT is acted on by process 1 alone: ``none``; ``start``: a SIGTERM to itself once joined, before
training starts; ``save:K``: a SIGTERM to itself inside the checkpoint save of step K. (The test
sends the mid-run SIGTERM itself.) Prints ``process I: STATUS at step N`` and exits with the run's code.
"""

import os
import signal
import sys

from lectarch.train import distributed

if __name__ == "__main__":
    pid, port, workdir, moment, *overrides = sys.argv[1:]
    distributed.initialize(distributed.Launch(f"localhost:{port}", 2, int(pid)))
    if pid == "1" and moment == "start":
        os.kill(os.getpid(), signal.SIGTERM)
    if pid == "1" and moment.startswith("save:"):
        from lectarch.train import checkpoint

        at, save = int(moment.removeprefix("save:")), checkpoint.Checkpointer.save

        def save_and_signal(self, step, *args, **kwargs):
            if step == at:
                os.kill(os.getpid(), signal.SIGTERM)
            return save(self, step, *args, **kwargs)

        checkpoint.Checkpointer.save = save_and_signal
    from lectarch.experiment import load_config, train

    result = train(load_config("experiments/configs/mlp_digits.py", overrides), workdir)
    print(f"process {pid}: {result.status} at step {result.step}", flush=True)
    sys.exit(result.exit_code)
