"""Multi-host training: two processes over CPU (gloo) equal one process; checkpoints move between
device counts; the launch parameters come from flags, the environment or the cluster."""

import json
import os
import shutil
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from lectarch.train import distributed, sharding
from lectarch.train.checkpoint import Checkpointer
from lectarch.experiment import train
from lectarch.train.metrics import read_metrics
from lectarch.train.state import init_state
from tests.helpers import REPO, cli_env, config

# No pictures at the eval (nothing here reads them; the MLP would draw three per run).
TINY = ("num_steps=4", "batch_size=16", "eval_batch_size=120", "log_every=1", "eval_every=4",
        "checkpoint_every=2", "model.width=32", "progress=false", "pictures=false")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _losses(workdir) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in read_metrics(workdir, "train")}


def test_two_processes_over_gloo_equal_one_process_and_restore_across_device_counts(tmp_path):
    ref, resume = tmp_path / "one_process", tmp_path / "resume"
    port, worker = _free_port(), os.path.join(REPO, "tests", "train", "multiprocess_worker.py")
    env = cli_env(devices=1)  # 2 processes x 1 CPU device, against 1 process x 8 devices below
    env["PYTHONPATH"] = REPO
    procs = [subprocess.Popen([sys.executable, worker, str(i), "2", str(port), str(tmp_path / "two_processes"),
                               str(resume), *TINY], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for i in range(2)]
    try:
        # Meanwhile, one process on 8 devices: the reference run, and a 2-step run whose checkpoint
        # the two processes (2 devices in all) restore; the worker waits for READY before resuming.
        train(config("mlp_digits", *TINY), ref)
        shutil.copytree(ref, resume)
        shutil.rmtree(resume / "checkpoints" / "4")
        (resume / "READY").touch()
        outputs = [p.communicate(timeout=150)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    assert "process 0 of 2: 1 local cpu devices, 2 in all (joined via flags/environment)" in outputs[0]
    assert "Resuming from step 2" in outputs[0]

    expected = _losses(ref)
    assert sorted(expected) == [1, 2, 3, 4]
    fresh = _losses(tmp_path / "two_processes")
    np.testing.assert_allclose([fresh[s] for s in range(1, 5)], [expected[s] for s in range(1, 5)], rtol=1e-5)
    resumed = _losses(resume)  # steps 1-2 from the 8-device run, 3-4 from the two processes
    np.testing.assert_allclose([resumed[s] for s in (3, 4)], [expected[s] for s in (3, 4)], rtol=1e-5)
    assert [r["step"] for r in read_metrics(tmp_path / "two_processes", "train")] == [1, 2, 3, 4]  # process 0 only
    assert json.loads((tmp_path / "two_processes" / "config.json").read_text())["num_steps"] == 4

    # The checkpoint the two processes wrote together restores here, on 8 devices, to the reference.
    cfg = config("mlp_digits", *TINY)
    _, target, _ = init_state(cfg, _spec())
    target = sharding.place_state(sharding.make_mesh(0), target)
    for workdir in (ref, resume):
        ckpt = Checkpointer(workdir / "checkpoints")
        state, data, step = ckpt.restore(target)
        ckpt.close()
        assert step == 4 and data == {"next_step": 4}
        if workdir == ref:
            want = state
    for a, b in zip(jax.tree.leaves(want), jax.tree.leaves(state)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)


def _spec():
    from lectarch.data.spec import DataSpec

    return DataSpec((64,), 10)


def test_checkpoint_saved_on_8_devices_restores_on_2(tmp_path):
    cfg = config("mlp_digits", "model.width=16")
    _, state, _ = init_state(cfg, _spec())
    mesh8, mesh2 = sharding.make_mesh(8), sharding.make_mesh(2)
    saved = sharding.place_state(mesh8, state)
    ckpt = Checkpointer(tmp_path / "ckpt", async_save=False)
    ckpt.save(7, saved, {"next_step": 7})
    ckpt.close()

    _, fresh, _ = init_state(config("mlp_digits", "model.width=16", "seed=1"), _spec())
    target = sharding.place_state(mesh2, fresh)
    restored, data, step = Checkpointer(tmp_path / "ckpt").restore(target)
    assert step == 7 and data == {"next_step": 7}
    for a, b in zip(jax.tree.leaves(saved), jax.tree.leaves(restored)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert len(b.sharding.device_set) == 2  # lives on the 2-device mesh it was restored into
    assert not all(np.array_equal(np.asarray(a), np.asarray(b))  # the values came from the checkpoint
                   for a, b in zip(jax.tree.leaves(fresh.params), jax.tree.leaves(restored.params)))


def test_launch_parameters_from_flags_then_environment():
    env = {"JAX_COORDINATOR_ADDRESS": "10.0.0.1:1234", "JAX_NUM_PROCESSES": "4", "JAX_PROCESS_ID": "3"}
    assert distributed.from_flags_or_env(env=env) == distributed.Launch("10.0.0.1:1234", 4, 3)
    assert distributed.from_flags_or_env("h:1", 2, 0, env=env) == distributed.Launch("h:1", 2, 0)
    assert distributed.from_flags_or_env(env={}) == distributed.Launch()
    assert not distributed.Launch().explicit
    with pytest.raises(ValueError, match="all three"):
        distributed.from_flags_or_env("h:1", env={})
    with pytest.raises(ValueError, match="not in"):
        distributed.from_flags_or_env("h:1", 2, 2, env={})


def test_cluster_detection_and_single_process_fallback():
    slurm = {"SLURM_JOB_ID": "7", "SLURM_NTASKS": "2", "SLURM_PROCID": "0", "SLURM_STEP_NODELIST": "n[1-2]"}
    assert distributed.cluster_detected(slurm) == "slurm"
    assert distributed.cluster_detected({"TPU_WORKER_HOSTNAMES": "a,b"}) == "cloud_tpu"
    assert distributed.cluster_detected({"SLURM_JOB_ID": "7"}) is None  # sbatch shell, not an srun task
    env = {k: v for k, v in cli_env(devices=1).items() if not k.startswith(("JAX_COORD", "JAX_NUM_PROC",
                                                                            "JAX_PROCESS", "SLURM_", "TPU_"))}
    code = "from lectarch.train import distributed; import jax; print(distributed.initialize(), jax.process_count())"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "1"], out.stderr  # nothing to join: a plain single-process run


# SLURM's variables for one srun task, as SLURM sets them (sbatch --nodes=2 ... ; srun ...).
SLURM_TASK = {"SLURM_JOB_ID": "7", "SLURM_STEP_NODELIST": "gpu[1-2]", "SLURM_JOB_NODELIST": "gpu[1-2]",
              "SLURM_STEP_NUM_NODES": "2", "SLURM_NODELIST": "gpu[1-2]"}
ONE_TASK_PER_NODE = {**SLURM_TASK, "SLURM_NTASKS": "2", "SLURM_NTASKS_PER_NODE": "1", "SLURM_PROCID": "1",
                     "SLURM_LOCALID": "0", "SLURM_STEP_GPUS": "0,1,2,3,4,5,6,7",
                     "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7"}
ONE_TASK_PER_GPU = {**SLURM_TASK, "SLURM_NTASKS": "16", "SLURM_NTASKS_PER_NODE": "8", "SLURM_PROCID": "11",
                    "SLURM_LOCALID": "3", "SLURM_STEP_GPUS": "0-7", "CUDA_VISIBLE_DEVICES": "3"}


def _initialize_under(monkeypatch, env: dict) -> dict:
    """What ``distributed.initialize`` hands to ``jax.distributed.initialize`` in the environment ``env``."""
    for key in list(os.environ):
        if key.startswith(("SLURM_", "JAX_COORD", "JAX_NUM_PROC", "JAX_PROCESS", "JAX_LOCAL", "CUDA_VISIBLE")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    seen = {}
    monkeypatch.setattr(jax.distributed, "initialize", lambda **kw: seen.update(kw))
    monkeypatch.setattr(jax.config, "update", lambda *a: None)  # this test process's backend is up already
    assert distributed.initialize() is True
    return seen


def test_slurm_one_task_per_node_drives_all_eight_gpus_of_its_node(monkeypatch):
    assert _initialize_under(monkeypatch, ONE_TASK_PER_NODE) == {"local_device_ids": list(range(8))}
    # the control: JAX's own SLURM detection alone gives the task only the GPU numbered SLURM_LOCALID
    from jax._src.clusters import ClusterEnv

    *_, alone = ClusterEnv.auto_detect_unset_distributed_params(None, None, None, None, None, 1)
    assert alone == [0]
    # SLURM shows the task its GPUs by their node numbers when it does not set CUDA_VISIBLE_DEVICES
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setenv("SLURM_STEP_GPUS", "4,5,6,7")
    assert distributed.slurm_local_device_ids() == [4, 5, 6, 7]


def test_slurm_one_task_per_gpu_drives_its_own(monkeypatch):
    assert _initialize_under(monkeypatch, ONE_TASK_PER_GPU) == {"local_device_ids": [0]}  # srun bound it to GPU 3
    unbound = {**ONE_TASK_PER_GPU, "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7"}  # every task sees the node's 8
    assert _initialize_under(monkeypatch, unbound) == {"local_device_ids": [3]}
    two_per_task = {**unbound, "SLURM_NTASKS_PER_NODE": "4", "SLURM_LOCALID": "2"}
    assert _initialize_under(monkeypatch, two_per_task) == {"local_device_ids": [4, 5]}
    with pytest.raises(ValueError, match="8 GPUs per node cannot be split evenly between 3 tasks"):
        distributed.slurm_local_device_ids({**unbound, "SLURM_NTASKS_PER_NODE": "3"})


def test_jax_local_device_ids_and_explicit_flags_win(monkeypatch):
    seen = _initialize_under(monkeypatch, {**ONE_TASK_PER_NODE, "JAX_LOCAL_DEVICE_IDS": "2,3"})
    assert seen == {"local_device_ids": [2, 3]}
    launch = distributed.Launch("h:1", 2, 1)
    assert distributed.initialize_kwargs(launch, ONE_TASK_PER_NODE) == {
        "coordinator_address": "h:1", "num_processes": 2, "process_id": 1, "local_device_ids": list(range(8))}
    assert distributed.initialize_kwargs(launch, {}) == {"coordinator_address": "h:1", "num_processes": 2,
                                                          "process_id": 1}
    assert distributed.slurm_local_device_ids({"CUDA_VISIBLE_DEVICES": "0,1"}) is None  # not under SLURM
    assert distributed.parse_id_list("0-1,4") == [0, 1, 4] and distributed.parse_id_list("GPU-3a4f") is None


MESH_PROBE = """
import sys
import jax, jax.numpy as jnp, numpy as np
from lectarch.train import distributed, sharding
distributed.initialize(distributed.Launch("localhost:" + sys.argv[2], 2, int(sys.argv[1])))
mesh = sharding.make_mesh(0)
rows = np.full((4, 3), jax.process_index() + 1, np.float32)  # this process's 4 rows of the global batch
x = jax.make_array_from_process_local_data(sharding.batch_sharding(mesh), rows)
total = jax.jit(jnp.sum, out_shardings=sharding.replicated(mesh))(x)
print(distributed.describe(), mesh.devices.size, len({d.process_index for d in mesh.devices.flat}), x.shape,
      float(total.addressable_data(0)))
"""


def test_two_processes_with_four_devices_each_make_one_mesh_of_eight():
    env = cli_env(devices=4)
    env["PYTHONPATH"] = REPO
    port = str(_free_port())
    procs = [subprocess.Popen([sys.executable, "-c", MESH_PROBE, str(i), port], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(2)]
    try:
        outputs = [p.communicate(timeout=120)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0], "\n".join(outputs)
    for i, out in enumerate(outputs):  # 4 rows of 1s and 4 rows of 2s, 3 columns: 36
        assert out.strip().splitlines()[-1] == (f"process {i} of 2: 4 local cpu devices, 8 in all 8 2 (8, 3) 36.0")
