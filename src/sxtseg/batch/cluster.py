"""Where a batch runs: a local cluster of processes, SLURM jobs or an existing scheduler.

Every function here imports dask inside, so ``import sxtseg.batch`` stays cheap.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sxtseg.errors import InputError

__all__ = [
    "BYTES_PER_VOXEL",
    "ClusterConfig",
    "ClusterInfo",
    "estimate_worker_memory",
    "make_slurm_cluster",
    "open_client",
]

log = logging.getLogger(__name__)

#: Peak bytes per voxel of the whole job (the mesh stage dominates): ~5 GB for 256x1024x1024.
BYTES_PER_VOXEL = 18
#: Interpreter, torch, model and mesh libraries.
BASE_BYTES = 1_000_000_000


@dataclass(frozen=True)
class ClusterConfig:
    """Where and how wide a batch runs.

    Attributes
    ----------
    kind : str
        ``local`` (processes on this machine), ``slurm`` (dask-jobqueue) or
        ``scheduler`` (connect to ``scheduler``).
    workers : int, optional
        Local worker processes (default: as many as cores, memory and GPUs allow).
    memory_per_worker : str, optional
        Local memory limit per worker ("6GB"); default sized for the largest tomogram.
    threads : int, optional
        Compute (torch/BLAS) threads per worker; default cores // workers locally,
        ``cores`` on SLURM.
    gpus : int, optional
        Local GPUs to use, one worker each (default: all when the device is not cpu).
    scheduler : str, optional
        Address of an existing scheduler (``tcp://host:8786``).
    queue, walltime, memory, account : str, optional
        SLURM partition, job time limit, memory per job ("16GB") and account.
    jobs : int
        SLURM jobs (one worker each).
    cores : int
        CPU cores per SLURM job.
    gpu_jobs : bool
        Request one GPU per SLURM job (``--gres=gpu:1``) and mark its worker ``GPU=1``.
    interface, scheduler_host : str, optional
        Network interface or address the scheduler listens on (SLURM workers must reach it).
    job_directives : tuple of str
        Extra ``#SBATCH`` lines.
    dashboard : bool
        Start the dashboard (local and SLURM).
    retries : int
        Times a task is run again after an unexpected error or a lost worker.
    """

    kind: str = "local"
    workers: int | None = None
    memory_per_worker: str | None = None
    threads: int | None = None
    gpus: int | None = None
    scheduler: str | None = None
    queue: str | None = None
    walltime: str | None = None
    memory: str | None = None
    account: str | None = None
    jobs: int = 1
    cores: int = 4
    gpu_jobs: bool = False
    interface: str | None = None
    scheduler_host: str | None = None
    job_directives: tuple[str, ...] = ()
    dashboard: bool = True
    retries: int = 1


@dataclass
class ClusterInfo:
    """What :func:`open_client` started (recorded in batch.json)."""

    kind: str
    workers: int | None = None
    threads: int | None = None
    memory_per_worker: int | None = None
    gpus: int = 0
    dashboard: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS
        return max(1, os.cpu_count() or 1)


def estimate_worker_memory(shapes: Sequence[tuple[int, int, int]]) -> int:
    """Bytes one worker needs for the largest of ``shapes`` (Z, Y, X)."""
    voxels = max((int(z) * int(y) * int(x) for z, y, x in shapes), default=0)
    return BASE_BYTES + BYTES_PER_VOXEL * voxels


def _local_gpus(requested: int | None, device: str | None) -> int:
    if requested is not None:
        return max(0, requested)
    if device is not None and device.startswith("cpu"):
        return 0
    try:
        import torch

        return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
    except Exception:  # pragma: no cover - a broken CUDA install: run on CPUs
        return 0


def _dashboard_link(client: Any) -> str | None:
    import importlib.util

    if importlib.util.find_spec("bokeh") is None:
        return None
    with contextlib.suppress(Exception):
        return str(client.dashboard_link)
    return None


def _parse_bytes(text: str, what: str) -> int:
    from dask.utils import parse_bytes

    try:
        return int(parse_bytes(text))
    except (ValueError, TypeError):
        raise InputError(f"{what}: expected a size such as 8GB, got {text!r}") from None


def make_slurm_cluster(cfg: ClusterConfig, *, log_directory: str | Path | None = None) -> Any:
    """A dask-jobqueue ``SLURMCluster`` from ``cfg`` (no job submitted yet).

    Each job runs one worker process that runs one tomogram at a time with
    ``cfg.threads`` (default ``cfg.cores``) compute threads. Options left unset
    come from dask's configuration (``jobqueue.yaml`` in dask's config places).
    """
    import dask
    from dask_jobqueue import SLURMCluster

    threads = cfg.threads or cfg.cores
    kw: dict[str, Any] = {
        "cores": 1,  # one task (one tomogram) per worker ...
        "processes": 1,
        "job_cpu": cfg.cores,  # ... using the job's cores for torch and BLAS
        "job_script_prologue": [
            f"export OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads} "
            f"OPENBLAS_NUM_THREADS={threads}"
        ],
    }
    if cfg.memory is None and dask.config.get("jobqueue.slurm.memory", None) is None:
        raise InputError("--cluster slurm needs --memory (e.g. 16GB) or jobqueue.yaml")
    for key, value in (("queue", cfg.queue), ("walltime", cfg.walltime),
                       ("memory", cfg.memory), ("account", cfg.account),
                       ("interface", cfg.interface)):  # fmt: skip
        if value is not None:
            kw[key] = value
    directives = list(cfg.job_directives)
    if cfg.gpu_jobs:
        directives.append("--gres=gpu:1")
        kw["worker_extra_args"] = ["--resources", "GPU=1"]
    if directives:
        kw["job_extra_directives"] = directives
    scheduler_options: dict[str, Any] = {}
    if cfg.scheduler_host:
        scheduler_options["host"] = cfg.scheduler_host
    scheduler_options["dashboard_address"] = ":8787" if cfg.dashboard else None
    kw["scheduler_options"] = scheduler_options
    if log_directory is not None:
        kw["log_directory"] = str(log_directory)
    try:
        return SLURMCluster(**kw)
    except ValueError as exc:
        raise InputError(f"--cluster slurm: {exc}") from None


def _local_cluster(
    cfg: ClusterConfig, shapes: Sequence[tuple[int, int, int]], n_tasks: int, device: str | None
) -> tuple[Any, ClusterInfo]:
    from distributed import LocalCluster
    from distributed.system import MEMORY_LIMIT

    cores = _cores()
    gpus = _local_gpus(cfg.gpus, device)
    total = int(MEMORY_LIMIT)
    need = (
        _parse_bytes(cfg.memory_per_worker, "--memory-per-worker")
        if cfg.memory_per_worker
        else estimate_worker_memory(shapes)
    )
    if cfg.workers is not None:
        if cfg.workers < 1:
            raise InputError(f"--workers: expected at least 1, got {cfg.workers}")
        workers = cfg.workers
    else:
        workers = max(1, min(cores, total // max(need, 1), max(n_tasks, 1)))
        if gpus:
            workers = gpus
    if gpus:
        workers = min(workers, gpus)  # one worker per GPU: two tomograms never share a card
    if need * workers > total:
        log.warning("%d workers x %.1f GB exceeds this machine's %.1f GB", workers, need / 1e9,
                    total / 1e9)  # fmt: skip
    memory = need if cfg.memory_per_worker else max(need, total // workers)
    threads = cfg.threads or max(1, cores // workers)
    env = {k: str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                     "OPENBLAS_NUM_THREADS")}  # fmt: skip
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,  # one tomogram per worker process at a time
        processes=True,
        memory_limit=memory,
        dashboard_address=":8787" if cfg.dashboard else None,
        resources={"GPU": 1} if gpus else None,
        env=env,
        silence_logs=logging.ERROR,
    )
    info = ClusterInfo("local", workers=workers, threads=threads, memory_per_worker=memory,
                       gpus=gpus)  # fmt: skip
    return cluster, info


@contextlib.contextmanager
def open_client(
    cfg: ClusterConfig,
    *,
    shapes: Sequence[tuple[int, int, int]] = (),
    n_tasks: int = 1,
    device: str | None = None,
    log_directory: str | Path | None = None,
) -> Iterator[tuple[Any, ClusterInfo]]:
    """Start (or connect to) the cluster ``cfg`` describes; yield ``(client, info)``.

    The cluster this function started is closed on exit; an existing scheduler
    is left running.
    """
    import dask
    from distributed import Client

    if cfg.retries < 0:
        raise InputError(f"--retries: expected 0 or more, got {cfg.retries}")
    # a worker that dies under a task counts as a failure of that task
    with dask.config.set({"distributed.scheduler.allowed-failures": cfg.retries}):
        cluster: Any = None
        if cfg.kind == "local":
            cluster, info = _local_cluster(cfg, shapes, n_tasks, device)
        elif cfg.kind == "slurm":
            cluster = make_slurm_cluster(cfg, log_directory=log_directory)
            info = ClusterInfo("slurm", workers=cfg.jobs, threads=cfg.threads or cfg.cores,
                               gpus=cfg.jobs if cfg.gpu_jobs else 0,
                               extra={"queue": cfg.queue, "account": cfg.account})  # fmt: skip
        elif cfg.kind == "scheduler":
            if not cfg.scheduler:
                raise InputError("--scheduler: give the scheduler's address (tcp://HOST:PORT)")
            info = ClusterInfo("scheduler", threads=cfg.threads,
                               gpus=1 if cfg.gpu_jobs else 0,
                               extra={"address": cfg.scheduler})  # fmt: skip
        else:
            raise InputError(f"--cluster: expected local or slurm, got {cfg.kind!r}")
        try:
            if cluster is not None:
                client = Client(cluster)
            else:
                try:
                    client = Client(cfg.scheduler, timeout="30s")
                except OSError as exc:
                    raise InputError(f"--scheduler {cfg.scheduler}: {exc}") from None
            if cfg.kind == "slurm":
                cluster.scale(jobs=cfg.jobs)
            info = replace(info, dashboard=_dashboard_link(client))
            try:
                yield client, info
            finally:
                client.close()
        finally:
            if cluster is not None:
                cluster.close()
