"""The whole job as resumable stages: segment -> objects -> surfaces -> measure -> previews.

Each stage is a function of files (its inputs in ``out_dir``), so a batch
runner (Dask, SLURM) can schedule tomograms independently. A stage records a
fingerprint of its settings and inputs in ``summary.json``; a rerun skips a
stage whose fingerprint matches and whose outputs exist (see
:mod:`sxtseg.stages`: the segment stage's fingerprint includes the model's
weights, its pixel size and the mask threshold actually used; settings that
only choose the device or the speed are left out). Every setting is checked
before the first stage starts.

Outputs in ``out_dir``::

    mask.mrc            uint8 membrane mask (post-processed)
    probabilities.mrc   membrane probability (float16 or uint8)
    instances.mrc       compartments made from the mask (uint16, 0 = background)
    surfaces/           one mesh per object + a coloured scene, in nm
    objects.csv         one row per object, in nm; areas and volumes of the meshes in surfaces/
    preview_slices.png  orthogonal slices with the mask overlaid
    summary.json        settings, versions, timings per stage
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sxtseg.config import to_dict
from sxtseg.errors import InputError
from sxtseg.io.checkpoint import write_json_atomic
from sxtseg.io.files import remove_stale_temporaries
from sxtseg.stages import (
    STAGES,
    RunConfig,
    Stage,
    model_identity,
    output_names,
    plan_stages,
    run_config_from,
)
from sxtseg.types import Spacing, SpacingLike

__all__ = [
    "STAGES",
    "RunConfig",
    "RunResult",
    "model_identity",
    "run_config_from",
    "run_is_complete",
    "run_pipeline",
]

log = logging.getLogger(__name__)

#: progress(stage, done, total)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RunResult:
    """What :func:`run_pipeline` did.

    Attributes
    ----------
    out_dir : Path
    summary : dict
        The content of ``summary.json``.
    ran, skipped : list of str
        Stage names run now and stages skipped because they were done.
    """

    out_dir: Path
    summary: dict[str, Any]
    ran: list[str]
    skipped: list[str]

    def path(self, name: str) -> Path:
        """Path of an output named in the summary (e.g. "mask", "objects")."""
        return self.out_dir / self.summary["outputs"][name]


@dataclass(frozen=True)
class _Context:
    """What the stages' work needs: settings, the input, output paths, voxel size, progress."""

    cfg: RunConfig
    src: Path
    paths: Mapping[str, Path]
    spacing: Spacing
    progress: Progress | None = None

    def report(self, stage: str) -> Callable[[int, int], None]:
        """A progress(done, total) callback for ``stage``."""
        progress = self.progress
        if progress is None:
            return lambda done, total: None
        return lambda done, total: progress(stage, done, total)


def _segment(ctx: _Context) -> dict[str, Any]:
    from sxtseg.infer import segment_file

    counter = {"done": 0}
    report = ctx.report("segment")

    def tick(advance: int, total: int) -> None:  # segment_file reports increments
        counter["done"] += advance
        report(counter["done"], total)

    cfg, p = ctx.cfg, ctx.paths
    res = segment_file(
        ctx.src, p["mask"], prob_path=p["probabilities"], model=cfg.model, config=cfg.segment,
        postprocess_config=cfg.postprocess, voxel_size=list(ctx.spacing), overwrite=True,
        progress=tick,
    )  # fmt: skip
    return {
        "device": res.device, "model": res.model_source, "model_trained": res.model_trained,
        "plan": res.plan, "slices_per_second": round(res.slices_per_second, 3),
        "foreground_fraction": res.foreground_fraction, "threshold": res.threshold,
        "model_pixel_size_nm": res.model_pixel_size_nm,
        "zoom": None if res.zoom is None else list(res.zoom),
    }  # fmt: skip


def _objects(ctx: _Context) -> dict[str, Any]:
    import numpy as np

    from sxtseg.morphometry import load_objects, write_instances

    p = ctx.paths
    labels = load_objects(p["mask"], voxel_size=list(ctx.spacing), config=ctx.cfg.objects)
    write_instances(p["instances"], labels, overwrite=True)
    return {"objects": int(np.max(labels.data)) if np.asarray(labels.data).size else 0}


def _surfaces(ctx: _Context) -> dict[str, Any]:
    from sxtseg.jobs import surfaces_file

    cfg, p = ctx.cfg, ctx.paths
    res = surfaces_file(
        p["instances"], p["surfaces"], instances=True, voxel_size=list(ctx.spacing),
        config=cfg.mesh, formats=cfg.formats, tomogram=ctx.src if cfg.previews else None,
        preview=cfg.previews, write_labels=False, overwrite=True,
        progress=ctx.report("surfaces"),
    )  # fmt: skip
    return {"meshes": res.count}


def _measure(ctx: _Context) -> dict[str, Any]:
    from sxtseg.jobs import measure_file

    p = ctx.paths
    res = measure_file(
        p["instances"], p["objects"], instances=True, voxel_size=list(ctx.spacing),
        config=ctx.cfg.measure, surfaces=p["surfaces"], overwrite=True,
        progress=ctx.report("measure"),
    )  # fmt: skip
    return {"rows": len(res.table)}


def _previews(ctx: _Context) -> dict[str, Any]:
    from sxtseg.io import open_volume, read_volume
    from sxtseg.mesh import slice_overlays_png

    mask = read_volume(ctx.paths["mask"], voxel_size=list(ctx.spacing))
    with open_volume(ctx.src, voxel_size=list(ctx.spacing)) as tomo:  # lazy: 3 slices are read
        # written to a temporary name and renamed
        slice_overlays_png(tomo.lazy, mask.data, ctx.paths["preview_slices"], spacing=ctx.spacing)
    return {}


#: The work of each stage: _Context -> details recorded in summary.json.
_WORK: dict[str, Callable[[_Context], dict[str, Any]]] = {
    "segment": _segment,
    "objects": _objects,
    "surfaces": _surfaces,
    "measure": _measure,
    "previews": _previews,
}


def _versions() -> dict[str, str]:
    import numpy as np

    from sxtseg._version import __version__

    out = {"sxtseg": __version__, "python": platform.python_version(), "numpy": np.__version__}
    try:
        import torch

        out["torch"] = torch.__version__
    except ImportError:  # pragma: no cover
        pass
    out["platform"] = platform.platform()
    return out


def _load_summary(path: Path) -> dict[str, Any]:
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            if isinstance(data, dict):
                return data
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            log.warning("%s is unreadable; all stages will run again", path)
    return {}


@dataclass(frozen=True)
class _Job:
    """A run's fixed facts, read before any stage starts."""

    src: Path
    out: Path
    spacing: Spacing
    shape: tuple[int, ...]
    identity: dict[str, Any]
    threshold: float
    paths: dict[str, Path]
    stages: list[Stage]


def _prepare(
    input: str | Path, out_dir: str | Path, cfg: RunConfig, voxel_size: SpacingLike | None
) -> _Job:
    """Check the input, the output folder and the model; plan the stages. Writes nothing."""
    from sxtseg.io import open_volume
    from sxtseg.types import require_voxel_size

    if not isinstance(cfg, RunConfig):
        raise InputError(f"config must be a RunConfig, not {type(cfg).__name__}")
    src, out = Path(input), Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder")
    with open_volume(src, voxel_size=voxel_size) as reader:
        spacing = require_voxel_size(reader.volume(), voxel_size, what="the whole job")
        shape = tuple(int(s) for s in reader.shape)
    identity = model_identity(cfg.model)
    threshold = cfg.segment.threshold_for(identity["threshold"])
    paths = {k: out / v for k, v in output_names(cfg.ext).items()}
    stages = plan_stages(cfg, src, paths, identity=identity, threshold=threshold,
                          spacing=spacing)  # fmt: skip
    return _Job(src, out, spacing, shape, identity, threshold, paths, stages)


def run_is_complete(
    out_dir: str | Path,
    input: str | Path,
    config: RunConfig | None = None,
    *,
    voxel_size: SpacingLike | None = None,
) -> bool:
    """Whether ``run_pipeline(input, out_dir, config=config)`` would skip every stage.

    Reads headers and ``summary.json`` only; never raises for bad input
    (False: the run itself will report it).

    Parameters
    ----------
    out_dir : str or Path
        The run's output folder.
    input : str or Path
        The tomogram.
    config : RunConfig, optional
    voxel_size : float or 3 floats, optional
        The override the run would get.
    """
    try:
        job = _prepare(input, out_dir, config or RunConfig(), voxel_size)
    except (InputError, OSError) as exc:
        log.debug("%s: not complete (%s)", out_dir, exc)
        return False
    done = _load_summary(job.out / "summary.json").get("stages", {})
    return all(s.is_done(done.get(s.name)) for s in job.stages)


def run_pipeline(
    input: str | Path,
    out_dir: str | Path,
    *,
    config: RunConfig | None = None,
    voxel_size: SpacingLike | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> RunResult:
    """Run the whole job on one tomogram.

    Parameters
    ----------
    input : str or Path
        A tomogram in any supported format.
    out_dir : str or Path
        Output folder (created); see the module docstring for its content.
    config : RunConfig, optional
    voxel_size : float or 3 floats, optional
        Override in nm for a missing or wrong header.
    force : bool
        Run every stage even when ``summary.json`` says it is done.
    progress : callable(stage, done, total), optional

    Returns
    -------
    RunResult

    Raises
    ------
    InputError
        Unreadable input, missing voxel size, bad settings (all checked
        before the first stage starts and before anything is written).
    """
    cfg = config or RunConfig()
    job = _prepare(input, out_dir, cfg, voxel_size)
    out = job.out
    out.mkdir(parents=True, exist_ok=True)
    for folder in (out, out / "surfaces"):
        remove_stale_temporaries(folder)  # the .part files and scratch of a killed run
    summary_path = out / "summary.json"
    previous = {} if force else _load_summary(summary_path).get("stages", {})
    summary: dict[str, Any] = {
        "input": str(job.src.resolve()),
        "shape": list(job.shape),
        "voxel_size_nm": list(job.spacing),
        "threshold": job.threshold,
        "model": {"source": cfg.model, **job.identity},
        "settings": to_dict(cfg),
        "versions": _versions(),
        "outputs": {k: p.name for k, p in job.paths.items()},
        "stages": {},
    }
    ran: list[str] = []
    skipped: list[str] = []
    ctx = _Context(cfg, job.src, job.paths, job.spacing, progress)
    for stage in job.stages:
        record = previous.get(stage.name)
        if stage.is_done(record):
            summary["stages"][stage.name] = {**(record or {}), "skipped": True}
            skipped.append(stage.name)
            log.info("stage %s: done before, skipped", stage.name)
            continue
        fp = stage.fingerprint()
        t0 = time.perf_counter()
        info = _WORK[stage.name](ctx)
        summary["stages"][stage.name] = {
            "fingerprint": fp,
            "seconds": round(time.perf_counter() - t0, 3),
            "skipped": False,
            **info,
        }
        ran.append(stage.name)
        write_json_atomic(summary_path, summary)
    summary["total_seconds"] = round(
        sum(s.get("seconds", 0.0) for s in summary["stages"].values() if not s.get("skipped")), 3
    )
    write_json_atomic(summary_path, summary)
    return RunResult(out, summary, ran, skipped)
