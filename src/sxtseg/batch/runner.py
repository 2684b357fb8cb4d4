"""``run_batch``: the ``run`` pipeline on many tomograms, one dask task each."""

from __future__ import annotations

import datetime as _dt
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sxtseg.batch.cluster import ClusterConfig, ClusterInfo, open_client
from sxtseg.batch.inputs import Tomogram, find_tomograms
from sxtseg.batch.task import clean_partial_outputs, finished_entry, one_line, run_one
from sxtseg.errors import InputError
from sxtseg.types import SpacingLike

__all__ = ["BatchResult", "run_batch"]

log = logging.getLogger(__name__)

#: on_result(entry, finished, total): called in the client as each tomogram finishes.
OnResult = Callable[[dict[str, Any], int, int], None]
#: on_cluster(info, total): called once the cluster is up and tasks are submitted.
OnCluster = Callable[[ClusterInfo, int], None]


@dataclass
class BatchResult:
    """What :func:`run_batch` did.

    Attributes
    ----------
    out_dir : Path
    tomograms : dict
        Name -> its ``batch.json`` entry (``status`` done, skipped or failed,
        ``stages`` seconds, ``voxel_size_nm``, ``objects``, ``error``).
    cluster : ClusterInfo
    objects_csv, batch_json : Path
    seconds : float
        Wall time of the batch.
    """

    out_dir: Path
    tomograms: dict[str, dict[str, Any]]
    cluster: ClusterInfo
    objects_csv: Path
    batch_json: Path
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> dict[str, dict[str, Any]]:
        """Entries of the tomograms that failed."""
        return {k: v for k, v in self.tomograms.items() if v["status"] == "failed"}

    @property
    def exit_status(self) -> int:
        """0 all succeeded, 2 the only failures were bad inputs, 1 otherwise."""
        failed = self.failed.values()
        if not failed:
            return 0
        return 2 if all(e.get("error_type") == "input" for e in failed) else 1


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _clean_batch_temporaries(out: Path) -> None:
    for name in ("batch.json", "objects.csv"):
        for p in out.glob(f".{name}.*.part"):
            p.unlink(missing_ok=True)


def _shapes(
    tomos: Sequence[Tomogram], voxel_size: SpacingLike | None
) -> list[tuple[int, int, int]]:
    """Shapes from the headers (for sizing workers); unreadable files are left to their task."""
    from sxtseg.io import open_volume

    shapes: list[tuple[int, int, int]] = []
    for t in tomos:
        try:
            with open_volume(t.path, voxel_size=voxel_size) as reader:
                nz, ny, nx = reader.shape
                shapes.append((int(nz), int(ny), int(nx)))
        except Exception as exc:  # the task reports it
            log.debug("%s: %s", t.path, one_line(exc))
    return shapes


def write_objects_table(out: Path, entries: dict[str, dict[str, Any]]) -> Path:
    """Concatenate the per-tomogram tables into ``out/objects.csv`` with a ``tomogram`` column."""
    import pandas as pd

    from sxtseg.io.base import temp_sibling

    frames = []
    for name, e in entries.items():
        path = e.get("objects_csv")
        if e["status"] in ("done", "skipped") and path and Path(path).is_file():
            table = pd.read_csv(path)
            table.insert(0, "tomogram", name)
            frames.append(table)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["tomogram"])
    target = out / "objects.csv"
    tmp = temp_sibling(target)
    try:
        table.to_csv(tmp, index=False)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def run_batch(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    client: Any = None,
    config: Any = None,
    cluster: ClusterConfig | None = None,
    voxel_size: SpacingLike | None = None,
    force: bool = False,
    on_cluster: OnCluster | None = None,
    on_result: OnResult | None = None,
) -> BatchResult:
    """Run the whole job on every tomogram found in ``inputs``, one dask task each.

    Parameters
    ----------
    inputs : sequence of str or Path
        Files, folders or glob patterns (see :func:`sxtseg.batch.find_tomograms`).
    out_dir : str or Path
        Output folder: ``<name>/`` per tomogram, ``objects.csv`` (every object
        with a ``tomogram`` column) and ``batch.json``.
    client : distributed.Client, optional
        Run on this client's cluster; otherwise ``cluster`` says where.
    config : RunConfig, optional
        Settings of the ``run`` pipeline, the same for every tomogram.
    cluster : ClusterConfig, optional
        Default: a local cluster of processes sized to the machine.
    voxel_size : float or 3 floats, optional
        Override in nm for missing or wrong headers.
    force : bool
        Run every stage again (otherwise finished tomograms and stages are skipped).
    on_cluster, on_result : callable, optional
        Progress hooks, called in this process.

    Returns
    -------
    BatchResult

    Raises
    ------
    InputError
        No tomograms found, a bad output folder or bad cluster options. A
        tomogram that cannot be read fails only its own task.
    """
    t0 = time.perf_counter()
    ccfg = cluster or ClusterConfig()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder")
    tomos = find_tomograms(list(inputs), exclude=out)
    out.mkdir(parents=True, exist_ok=True)
    _clean_batch_temporaries(out)
    entries: dict[str, dict[str, Any]] = {
        t.name: {"input": str(t.path), "out_dir": str(out / t.name), "status": "pending"}
        for t in tomos
    }
    doc: dict[str, Any] = {"started": _now(), "finished": None, "out_dir": str(out.resolve())}
    batch_json = out / "batch.json"
    device = getattr(getattr(config, "segment", None), "device", None)
    # tomograms whose run is complete need no task (nor a cluster when all are)
    before = {} if force else _finished_before(tomos, out, config, voxel_size)
    todo = [t for t in tomos if t.name not in before]
    shapes = _shapes(todo, voxel_size) if client is None and ccfg.kind == "local" else []

    def save(info: ClusterInfo) -> None:
        from sxtseg._version import __version__
        from sxtseg.config import to_dict
        from sxtseg.io.checkpoint import write_json_atomic

        counts = {s: sum(e["status"] == s for e in entries.values())
                  for s in ("done", "skipped", "failed", "pending")}  # fmt: skip
        write_json_atomic(batch_json, {
            **doc, "sxtseg": __version__, "counts": counts, "cluster": asdict(info),
            "settings": to_dict(config) if config is not None else None, "tomograms": entries,
        })  # fmt: skip

    if client is not None:
        info = ClusterInfo("client", gpus=1 if ccfg.gpu_jobs else 0,
                           dashboard=getattr(client, "dashboard_link", None))  # fmt: skip
        _submit_and_wait(client, info, tomos, before, out, entries, config, ccfg, voxel_size,
                         force, save, on_cluster, on_result)  # fmt: skip
    elif not todo:
        info = ClusterInfo(ccfg.kind, workers=0, extra={"started": False})
        _submit_and_wait(None, info, tomos, before, out, entries, config, ccfg, voxel_size,
                         force, save, on_cluster, on_result)  # fmt: skip
    else:
        log_dir = out / "slurm-logs" if ccfg.kind == "slurm" else None
        with open_client(ccfg, shapes=shapes, n_tasks=len(todo), device=device,
                         log_directory=log_dir) as (own_client, info):  # fmt: skip
            _submit_and_wait(own_client, info, tomos, before, out, entries, config, ccfg,
                             voxel_size, force, save, on_cluster, on_result)  # fmt: skip
    objects_csv = write_objects_table(out, entries)
    doc["finished"] = _now()
    doc["seconds"] = round(time.perf_counter() - t0, 3)
    result = BatchResult(out, entries, info, objects_csv, batch_json, doc["seconds"])
    doc["exit_status"] = result.exit_status
    save(info)
    result.counts = {s: sum(e["status"] == s for e in entries.values())
                     for s in ("done", "skipped", "failed")}  # fmt: skip
    return result


def _finished_before(
    tomos: Sequence[Tomogram], out: Path, config: Any, voxel_size: SpacingLike | None
) -> dict[str, dict[str, Any]]:
    """``skipped`` entries of the tomograms whose run is complete (pipeline.run_is_complete)."""
    before = {}
    for t in tomos:
        entry = finished_entry(str(t.path), str(out / t.name), config, voxel_size=voxel_size)
        if entry is not None:
            clean_partial_outputs(out / t.name)  # e.g. of a run killed while saving its summary
            before[t.name] = entry
    return before


def _submit_and_wait(
    client: Any, info: ClusterInfo, tomos: Sequence[Tomogram],
    before: dict[str, dict[str, Any]], out: Path, entries: dict[str, dict[str, Any]],
    config: Any, ccfg: ClusterConfig, voxel_size: SpacingLike | None, force: bool,
    save: Callable[[ClusterInfo], None], on_cluster: OnCluster | None,
    on_result: OnResult | None,
) -> None:  # fmt: skip
    """Submit a task per tomogram not in ``before``; record every entry as it finishes."""
    todo = [t for t in tomos if t.name not in before]
    gpu = info.gpus > 0
    token = uuid.uuid4().hex[:8]
    futures = {}
    for i, t in enumerate(todo):
        fut = client.submit(
            run_one, str(t.path), str(out / t.name), config, voxel_size=voxel_size, force=force,
            threads=info.threads, gpu_slots=info.gpus if info.kind == "local" else 0,
            key=f"sxtseg-batch-{t.name}-{token}", pure=False, retries=ccfg.retries,
            resources={"GPU": 1} if gpu else None, priority=-i,
        )  # fmt: skip
        futures[fut] = t.name
    save(info)
    if on_cluster is not None:
        on_cluster(info, len(tomos))
    finished = 0

    def record(name: str, entry: dict[str, Any]) -> None:
        nonlocal finished
        entry.pop("input", None)
        entries[name] = {**entries[name], **entry}
        finished += 1
        save(info)
        log.info("%s: %s", name, entries[name]["status"])
        if on_result is not None:
            on_result({"name": name, **entries[name]}, finished, len(tomos))

    for name, entry in before.items():
        record(name, dict(entry))
    if not futures:
        return
    from distributed import as_completed

    for fut in as_completed(futures):
        name = futures[fut]
        try:
            entry = fut.result()
        except Exception as exc:
            entry = {**entries[name], "status": "failed", "error": one_line(exc),
                     "error_type": "worker" if "KilledWorker" in type(exc).__name__
                     else "internal"}  # fmt: skip
        record(name, entry)
        fut.release()
