"""The task a worker runs for one tomogram: the resumable ``run`` pipeline on paths.

A task receives paths and a config, never arrays, and returns a small dict
of plain values; it shares no state with other tasks. Bad input is a result
(``status: failed``), not an exception, so it is not retried; anything else
raises, and the scheduler retries the task (on another worker when this one
died).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from sxtseg.errors import InputError
from sxtseg.types import SpacingLike

__all__ = ["clean_partial_outputs", "finished_entry", "one_line", "run_one", "summary_entry"]

log = logging.getLogger(__name__)

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_prepared: dict[str, Any] = {}


def one_line(exc: BaseException) -> str:
    """An exception as one line of text."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def _worker_index() -> int | None:
    try:
        from distributed import get_worker

        name = get_worker().name
    except (ImportError, ValueError):
        return None
    try:
        return int(str(name).rsplit("-", 1)[-1])
    except ValueError:
        return None


def _prepare_process(threads: int | None, gpu_slots: int) -> None:
    """Cap this worker process's compute threads and pin its GPU (once per process)."""
    key = (threads, gpu_slots)
    if _prepared.get("key") == key:
        if threads:
            import torch

            torch.set_num_threads(threads)
        return
    if gpu_slots > 0:
        index = _worker_index()
        if index is not None:
            # before torch initialises CUDA in this process: the card becomes cuda:0
            os.environ["CUDA_VISIBLE_DEVICES"] = str(index % gpu_slots)
    if threads:
        for var in _THREAD_VARS:
            os.environ[var] = str(threads)
        try:
            from threadpoolctl import threadpool_limits

            _prepared["limits"] = threadpool_limits(limits=threads)
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            pass
        import torch

        torch.set_num_threads(threads)
    _prepared["key"] = key


def clean_partial_outputs(out_dir: Path) -> int:
    """Remove temporary ``.*.part`` files and folders a killed task left; return how many."""
    if not out_dir.is_dir():
        return 0
    count = 0
    for folder in (out_dir, out_dir / "surfaces"):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.name.startswith(".") and p.name.endswith(".part"):
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
                count += 1
    return count


def run_one(
    input: str,
    out_dir: str,
    config: Any = None,
    *,
    voxel_size: SpacingLike | None = None,
    force: bool = False,
    threads: int | None = None,
    gpu_slots: int = 0,
) -> dict[str, Any]:
    """Run the whole job on one tomogram into ``out_dir``; return its batch.json entry.

    Parameters
    ----------
    input, out_dir : str
        The tomogram and its output folder.
    config : RunConfig, optional
    voxel_size : float or 3 floats, optional
        Override in nm for a missing or wrong header.
    force : bool
        Run every stage again.
    threads : int, optional
        Compute threads of this worker (torch, BLAS).
    gpu_slots : int
        GPUs on this machine shared out one per worker (0: no pinning).

    Returns
    -------
    dict
        ``status`` ("done", "skipped" or "failed"), ``stages`` (seconds each),
        ``voxel_size_nm``, ``shape``, ``objects``, ``seconds``, ``error`` and
        ``error_type`` (failures only).

    Raises
    ------
    Exception
        Anything but bad input, so that the scheduler retries the task.
    """
    from sxtseg.pipeline import run_pipeline

    t0 = time.perf_counter()
    entry: dict[str, Any] = {"input": input, "out_dir": out_dir}
    _prepare_process(threads, gpu_slots)
    removed = clean_partial_outputs(Path(out_dir))
    if removed:
        log.info("%s: removed %d partial files of an interrupted run", out_dir, removed)
    try:
        result = run_pipeline(input, out_dir, config=config, voxel_size=voxel_size, force=force)
    except InputError as exc:
        return {**entry, "status": "failed", "error": one_line(exc), "error_type": "input",
                "seconds": round(time.perf_counter() - t0, 3)}  # fmt: skip
    entry.update(summary_entry(result.summary, Path(out_dir)))
    return {
        **entry,
        "status": "skipped" if not result.ran else "done",
        "ran": list(result.ran),
        "skipped": list(result.skipped),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def summary_entry(summary: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """The part of a batch.json entry read from a run's ``summary.json``."""
    stages = summary.get("stages", {})
    return {
        "stages": {k: v.get("seconds") for k, v in stages.items()},
        "voxel_size_nm": summary.get("voxel_size_nm"),
        "shape": summary.get("shape"),
        "objects": stages.get("objects", {}).get("objects"),
        "objects_csv": str(out_dir / summary.get("outputs", {}).get("objects", "objects.csv")),
    }


def finished_entry(input: str, out_dir: str, config: Any = None, *,
                   voxel_size: SpacingLike | None = None) -> dict[str, Any] | None:  # fmt: skip
    """The ``skipped`` batch.json entry of a tomogram whose run is complete, else None.

    Uses :func:`sxtseg.pipeline.run_is_complete` (headers and ``summary.json``
    only), so finished tomograms need no task.
    """
    import json

    from sxtseg.pipeline import run_is_complete

    if not run_is_complete(out_dir, input, config, voxel_size=voxel_size):
        return None
    try:
        summary = json.loads((Path(out_dir) / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    stages = list(summary.get("stages", {}))
    return {"input": input, "out_dir": out_dir, "status": "skipped", "ran": [],
            "skipped": stages, "seconds": 0.0, **summary_entry(summary, Path(out_dir))}  # fmt: skip
