"""What a run will get on this machine, and where it will fail: the facts ``lectarch doctor`` prints.

``gather(workdir)`` collects them (versions, the backend and its devices, what SLURM or the TPU VM
allocated, the workdir's file system, the compilation cache); ``problems(facts)`` is a pure
function of them: each disagreement is one line saying what and how to mend it. Tests build
``Facts`` by hand for machines they do not have.
"""

import dataclasses
import os
import shutil
import tempfile

from lectarch.runtime import hardware

PACKAGES = ("jax", "jaxlib", "jax-cuda12-plugin", "jax-cuda12-pjrt", "libtpu")
MIN_FREE_BYTES = 1 << 30


@dataclasses.dataclass
class Facts:
    versions: dict  # package -> version (None: not installed)
    backend: str  # jax.default_backend()
    local_devices: int  # this process
    all_devices: int  # every process (as many as this one when the run is not joined)
    processes: int
    nvidia_visible: bool
    tpu_vm: bool
    tpu_chips: int  # TPU chips of this VM (0: none found)
    jax_platforms: str  # JAX_PLATFORMS ("" unset)
    slurm: dict | None  # under an srun task: tasks_per_node, gpus_seen, expected_ids, used_ids, error
    workdir: str
    lock_ok: bool | None  # None: not checked (the workdir cannot be written)
    rename_ok: bool | None
    workdir_error: str
    free_bytes: int | None
    cache_dir: str | None
    cache_entries: int
    cache_bytes: int
    malloc: dict  # lectarch.runtime.configure's settings
    xla_flags: str


def slurm_allocation(env: dict) -> dict | None:
    """What SLURM allocated to the task this process runs, and what ``lectarch train --distributed`` would drive."""
    from lectarch.train import distributed

    if distributed.cluster_detected(env) != "slurm":
        return None
    facts = {"tasks_per_node": distributed.tasks_per_node(env) or 1, "error": ""}
    seen = distributed.parse_id_list(env.get("CUDA_VISIBLE_DEVICES")) if "CUDA_VISIBLE_DEVICES" in env else \
        distributed.parse_id_list(env.get("SLURM_STEP_GPUS") or env.get("SLURM_JOB_GPUS"))
    facts["gpus_seen"] = len(seen or [])
    try:
        facts["expected_ids"] = distributed.slurm_local_device_ids(env)
        launch = distributed.Launch()
        facts["used_ids"] = distributed.initialize_kwargs(launch, env).get("local_device_ids")
    except ValueError as e:
        facts["expected_ids"] = facts["used_ids"] = None
        facts["error"] = str(e)
    return facts


def check_workdir(workdir: str) -> tuple[bool | None, bool | None, str]:
    """The run lock excludes a second holder, and a file replaced by rename reads back whole."""
    from lectarch.train.workdir import RunLock, WorkdirError, WorkdirLocked, atomic_write_text

    try:
        os.makedirs(workdir, exist_ok=True)
        probe = tempfile.mkdtemp(prefix=".doctor-", dir=workdir)
    except OSError as e:
        return None, None, f"cannot write in {workdir} ({e.strerror})"
    lock_ok = rename_ok = False
    try:
        with RunLock(probe):
            try:
                RunLock(probe).acquire().release()  # a second holder must be refused
            except WorkdirLocked:
                lock_ok = True
        target = os.path.join(probe, "probe.txt")
        atomic_write_text(target, "old\n")
        atomic_write_text(target, "new\n")
        with open(target) as f:
            rename_ok = f.read() == "new\n" and sorted(os.listdir(probe)) == [".lock", "probe.txt"]
    except (OSError, WorkdirError) as e:
        return lock_ok, rename_ok, str(e)
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return lock_ok, rename_ok, ""


def _cache_size(directory: str | None) -> tuple[int, int]:
    if not directory or not os.path.isdir(directory):
        return 0, 0
    files = [os.path.join(directory, f) for f in os.listdir(directory)]
    files = [f for f in files if os.path.isfile(f)]
    return len(files), sum(os.path.getsize(f) for f in files)


def gather(workdir: str, env: dict | None = None, root: str = "/") -> Facts:
    """The facts of this process (JAX's backend starts here, if it has not)."""
    import jax

    env = os.environ if env is None else env
    lock_ok, rename_ok, error = check_workdir(workdir)
    try:
        free = shutil.disk_usage(workdir).free
    except OSError:
        free = None
    from lectarch import runtime

    settings = runtime.configure()
    cache = settings.compilation_cache
    entries, size = _cache_size(cache)
    return Facts(versions={p: hardware.package_version(p) for p in PACKAGES}, backend=jax.default_backend(),
                 local_devices=jax.local_device_count(), all_devices=jax.device_count(),
                 processes=jax.process_count(), nvidia_visible=hardware.nvidia_gpu_visible(env, root),
                 tpu_vm=hardware.tpu_vm(env, root), tpu_chips=hardware.tpu_chips(root),
                 jax_platforms=env.get("JAX_PLATFORMS", ""), slurm=slurm_allocation(env),
                 workdir=os.path.abspath(workdir), lock_ok=lock_ok, rename_ok=rename_ok, workdir_error=error,
                 free_bytes=free, cache_dir=cache, cache_entries=entries, cache_bytes=size,
                 malloc=settings.malloc, xla_flags=settings.xla_flags)


def problems(f: Facts) -> list[str]:
    """Every disagreement between what the machine has and what a run will use, one line each."""
    out = []
    v = f.versions
    for plugin in ("jax-cuda12-plugin", "jax-cuda12-pjrt"):
        if v.get(plugin) and v[plugin] != v.get("jaxlib"):
            out.append(f"{plugin} {v[plugin]} does not match jaxlib {v.get('jaxlib')}: {hardware.GPU_INSTALL}")
    cpu_on_purpose = f.jax_platforms.split(",")[0].strip().lower() == "cpu"
    if f.nvidia_visible and f.backend == "cpu" and not cpu_on_purpose:
        fix = ("the GPU build is installed but did not start (see JAX's warning above)" if v.get("jax-cuda12-plugin")
               else f"install the GPU build: {hardware.GPU_INSTALL}")
        out.append(f"an NVIDIA GPU is visible but JAX runs on the CPU: {fix}")
    if f.tpu_vm and f.backend != "tpu" and not cpu_on_purpose:
        out.append(f"this is a TPU VM but JAX runs on the {f.backend}: install the TPU build: make install ACCEL=tpu")
    if f.backend == "tpu" and f.tpu_chips and f.local_devices not in (f.tpu_chips, 2 * f.tpu_chips):
        out.append(f"this TPU VM has {f.tpu_chips} chip(s) but JAX sees {f.local_devices} device(s) here "
                   "(another process holding the TPU?)")
    s = f.slurm
    if s is not None:
        if s["error"]:
            out.append(s["error"])
        elif s["expected_ids"] is not None:
            want, used = len(s["expected_ids"]), len(s["used_ids"] or [])
            if used != want:
                out.append(f"SLURM: {s['tasks_per_node']} task(s) per node with {s['gpus_seen']} GPUs: the task should "
                           f"drive {want} GPU(s) {s['expected_ids']} but local_device_ids={s['used_ids']} gives it "
                           f"{used} (JAX_LOCAL_DEVICE_IDS?), leaving the others idle")
            elif f.backend == "gpu" and f.local_devices != used:
                out.append(f"SLURM gave the task {used} GPU(s) but JAX sees {f.local_devices}")
            elif f.backend == "cpu" and not cpu_on_purpose:
                out.append(f"SLURM allocated {s['gpus_seen']} GPU(s) but JAX runs on the CPU: {hardware.GPU_INSTALL}")
    if f.workdir_error:
        out.append(f"workdir {f.workdir}: {f.workdir_error}")
    else:
        if f.lock_ok is False:
            out.append(f"workdir {f.workdir}: its file system does not enforce the run lock (flock): two runs could "
                       "write one workdir; use a local or lock-capable file system")
        if f.rename_ok is False:
            out.append(f"workdir {f.workdir}: a file replaced by rename did not read back whole: checkpoints and "
                       "config.json are not safe there")
    if f.free_bytes is not None and f.free_bytes < MIN_FREE_BYTES:
        out.append(f"workdir {f.workdir}: only {f.free_bytes / 2**20:.0f} MiB free")
    return out


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def report(f: Facts) -> list[str]:
    """The facts, one ``name: value`` line each."""
    versions = ", ".join(f"{k} {v or '-'}" for k, v in f.versions.items())
    lines = [f"versions:          {versions}",
             f"backend:           {f.backend}" + (f" (JAX_PLATFORMS={f.jax_platforms})" if f.jax_platforms else ""),
             f"devices:           {f.local_devices} on this process, {f.all_devices} in all ({f.processes} "
             f"process{'es' * (f.processes != 1)})",
             f"machine:           NVIDIA GPU visible: {'yes' if f.nvidia_visible else 'no'}; TPU VM: "
             f"{f'yes, {f.tpu_chips} chip(s)' if f.tpu_vm else 'no'}; make install picks ACCEL="
             f"{'cuda12' if f.nvidia_visible else 'tpu' if f.tpu_vm else 'cpu'}"]
    s = f.slurm
    if s is None:
        lines.append("slurm:             not in an srun task")
    else:
        lines.append(f"slurm:             {s['tasks_per_node']} task(s) per node, {s['gpus_seen']} GPU(s) seen; "
                     f"lectarch train --distributed drives local_device_ids={s['used_ids']}")
    if f.workdir_error:
        lines.append(f"workdir:           {f.workdir}: {f.workdir_error}")
    else:
        lines.append(f"workdir:           {f.workdir}: run lock {'works' if f.lock_ok else 'NOT enforced'}, "
                     f"atomic rename {'works' if f.rename_ok else 'FAILED'}, "
                     f"{_gib(f.free_bytes) if f.free_bytes is not None else '?'} free")
    malloc = ", ".join(f"{k}={v}" for k, v in f.malloc.items()) or "glibc's defaults"
    lines.append(f"process settings:  malloc {malloc}; XLA_FLAGS={f.xla_flags!r}")
    lines.append(f"compilation cache: {f.cache_dir or 'off'}" +
                 (f" ({f.cache_entries} programs, {f.cache_bytes / 2**20:.1f} MiB)" if f.cache_dir else ""))
    return lines


__all__ = ["Facts", "check_workdir", "gather", "problems", "report", "slurm_allocation"]
