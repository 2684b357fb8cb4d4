"""The whole job as resumable stages: segment -> objects -> surfaces -> measure -> previews.

Each stage is a function of files (its inputs in ``out_dir``), so a batch
runner (Dask, SLURM) can schedule tomograms independently. A stage records a
fingerprint of its settings and inputs in ``summary.json``; a rerun skips a
stage whose fingerprint matches and whose outputs exist. The segment stage's
fingerprint includes the model's weights (their SHA-256), its pixel size and
the mask threshold actually used, so a retrained model or a new calibrated
threshold runs the stage again.

Outputs in ``out_dir``::

    mask.mrc            uint8 membrane mask (post-processed)
    probabilities.mrc   membrane probability (float16 or uint8)
    instances.mrc       compartments made from the mask (uint16, 0 = background)
    surfaces/           one mesh per object + a coloured scene, in nm
    objects.csv         one row per object, in nm
    preview_slices.png  orthogonal slices with the mask overlaid
    summary.json        settings, versions, timings per stage
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sxtseg.config import to_dict
from sxtseg.errors import InputError
from sxtseg.infer.config import SegmentConfig
from sxtseg.io.base import temp_sibling
from sxtseg.io.checkpoint import write_json_atomic
from sxtseg.mesh.config import MeshConfig
from sxtseg.morphometry.config import MeasureConfig, ObjectsConfig
from sxtseg.postprocess.config import PostprocessConfig

__all__ = ["STAGES", "RunConfig", "RunResult", "model_identity", "run_config_from", "run_pipeline"]

log = logging.getLogger(__name__)

STAGES = ("segment", "objects", "surfaces", "measure", "previews")
#: progress(stage, done, total)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RunConfig:
    """Settings of the whole job; one frozen dataclass per stage inside.

    Attributes
    ----------
    model : str
        "default" (the bundled model) or a model folder.
    segment, postprocess, objects, mesh, measure
        The stages' own configurations.
    formats : tuple of str
        Mesh formats among ``ply, obj, stl, glb``.
    previews : bool
        Write PNG previews.
    ext : str
        Volume format of the outputs: ".mrc", ".tif", ".zarr" or ".h5".
    """

    model: str = "default"
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    postprocess: PostprocessConfig = field(
        default_factory=lambda: PostprocessConfig(min_volume_nm3=2e5)
    )
    objects: ObjectsConfig = field(default_factory=ObjectsConfig)
    mesh: MeshConfig = field(default_factory=MeshConfig)
    measure: MeasureConfig = field(default_factory=MeasureConfig)
    formats: tuple[str, ...] = ("ply", "glb")
    previews: bool = True
    ext: str = ".mrc"


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


def run_config_from(
    yaml_path: str | Path | None = None,
    *,
    model: str = "default",
    threshold: float | None = None,
    device: str | None = None,
    tta: bool | None = None,
    axes: str | None = None,
    batch_size: int | None = None,
    tile: int | None = None,
    rescale: bool | None = None,
    min_volume: float | None = None,
    border: float | None = None,
    cell_mask: bool | None = None,
    formats: str = "ply,glb",
    out_format: str = "mrc",
    previews: bool = True,
) -> RunConfig:
    """Build a :class:`RunConfig` from an optional YAML file plus command-line values.

    The YAML may hold the sections ``segment``, ``postprocess``, ``objects``,
    ``mesh`` and ``measure``; options given explicitly win.
    """
    from sxtseg.config import from_mapping, load_yaml

    doc: dict[str, Any] = load_yaml(yaml_path) if yaml_path is not None else {}
    sections = {"segment", "postprocess", "objects", "mesh", "measure"}
    unknown = sorted(set(doc) - sections)
    if unknown:
        raise InputError(f"{yaml_path}: unknown section(s) {', '.join(unknown)}")
    ext = "." + out_format.lower().lstrip(".")
    if ext not in (".mrc", ".tif", ".zarr", ".h5"):
        raise InputError(f"--format: expected mrc, tif, zarr or h5, got {out_format!r}")
    pp_values = {"min_volume_nm3": RunConfig().postprocess.min_volume_nm3}
    pp_values.update(doc.get("postprocess") or {})
    pp = from_mapping(
        PostprocessConfig, pp_values, min_volume_nm3=min_volume, border_nm=border,
        cell_mask=cell_mask,
    )  # fmt: skip
    seg = from_mapping(
        SegmentConfig, doc.get("segment"), threshold=threshold, device=device, tta=tta,
        axes=axes, batch_size=batch_size, tile=tile, rescale=rescale,
    )  # fmt: skip
    return RunConfig(
        model=model,
        segment=seg,
        postprocess=pp,
        objects=from_mapping(ObjectsConfig, doc.get("objects")),
        mesh=from_mapping(MeshConfig, doc.get("mesh")),
        measure=from_mapping(MeasureConfig, doc.get("measure")),
        formats=tuple(f.strip().lower() for f in formats.split(",") if f.strip()),
        previews=previews,
        ext=ext,
    )


def _file_stamp(path: Path) -> list[Any]:
    if path.is_dir():
        items = sorted(p for p in path.rglob("*") if p.is_file())
        return [[str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns] for p in items]
    st = path.stat()
    return [path.name, st.st_size, st.st_mtime_ns]


def _fingerprint(settings: Any, inputs: list[Path]) -> str:
    text = json.dumps(
        {"settings": settings, "inputs": [_file_stamp(p) for p in inputs]},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def model_identity(model: str | Path) -> dict[str, Any]:
    """What identifies a model folder's output: weights hash, head, pixel size, threshold.

    Reads ``config.json`` only (the weights' SHA-256 recorded there; the
    safetensors file is hashed when the record is missing). No torch.

    Returns
    -------
    dict
        ``weights_sha256``, ``label_output`` (None if not recorded),
        ``pixel_size_nm`` (None for old folders) and ``threshold`` (the
        calibrated one; None when absent, i.e. 0.9).

    Raises
    ------
    InputError
        Not a model folder.
    """
    from sxtseg.io.checkpoint import read_model_folder, sha256_file

    if isinstance(model, str) and model == "default":
        folder = Path(__file__).resolve().parent / "weights" / "default"
    else:
        folder = Path(model)
    weights, doc = read_model_folder(folder, verify=False)
    meta = doc.get("meta") if isinstance(doc.get("meta"), dict) else {}
    return {
        "weights_sha256": doc.get("weights_sha256") or sha256_file(weights),
        "label_output": doc["model"].get("label_output"),
        "pixel_size_nm": meta.get("pixel_size_nm"),
        "threshold": meta.get("threshold"),
    }


def _versions() -> dict[str, str]:
    import numpy as np

    from sxtseg import __version__

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
        except json.JSONDecodeError:
            log.warning("%s is unreadable; all stages will run again", path)
    return {}


def run_pipeline(
    input: str | Path,
    out_dir: str | Path,
    *,
    config: RunConfig | None = None,
    voxel_size: Any = None,
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
        Unreadable input, missing voxel size, bad settings.
    """
    from sxtseg.io import open_volume
    from sxtseg.types import require_voxel_size

    cfg = config or RunConfig()
    src = Path(input)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder")
    with open_volume(src, voxel_size=voxel_size) as reader:
        spacing = require_voxel_size(reader.volume(), voxel_size, what="the whole job")
        shape = reader.shape
    out.mkdir(parents=True, exist_ok=True)
    ext = cfg.ext
    names = {
        "mask": f"mask{ext}",
        "probabilities": f"probabilities{ext}",
        "instances": f"instances{ext}",
        "surfaces": "surfaces",
        "objects": "objects.csv",
        "preview_slices": "preview_slices.png",
    }
    paths = {k: out / v for k, v in names.items()}
    identity = model_identity(cfg.model)
    threshold = cfg.segment.threshold_for(identity["threshold"])
    summary_path = out / "summary.json"
    previous = {} if force else _load_summary(summary_path).get("stages", {})
    summary: dict[str, Any] = {
        "input": str(src.resolve()),
        "shape": list(shape),
        "voxel_size_nm": list(spacing),
        "threshold": threshold,
        "model": {"source": cfg.model, **identity},
        "settings": to_dict(cfg),
        "versions": _versions(),
        "outputs": names,
        "stages": {},
    }
    ran: list[str] = []
    skipped: list[str] = []
    vs = list(spacing)

    def report(stage: str) -> Callable[[int, int], None]:
        return (lambda done, total: progress(stage, done, total)) if progress else (lambda *_: None)

    def stage(name: str, settings: Any, inputs: list[Path], outputs: list[Path],
              work: Callable[[], dict[str, Any]]) -> None:  # fmt: skip
        fp = _fingerprint(settings, inputs)
        done = previous.get(name, {})
        if done.get("fingerprint") == fp and all(p.exists() for p in outputs):
            summary["stages"][name] = {**done, "skipped": True}
            skipped.append(name)
            log.info("stage %s: done before, skipped", name)
            return
        t0 = time.perf_counter()
        info = work()
        summary["stages"][name] = {
            "fingerprint": fp,
            "seconds": round(time.perf_counter() - t0, 3),
            "skipped": False,
            **info,
        }
        ran.append(name)
        write_json_atomic(summary_path, summary)

    def do_segment() -> dict[str, Any]:
        from sxtseg.infer import segment_file

        counter = {"done": 0}

        def tick(advance: int, total: int) -> None:  # segment_file reports increments
            counter["done"] += advance
            report("segment")(counter["done"], total)

        res = segment_file(
            src, paths["mask"], prob_path=paths["probabilities"], model=cfg.model,
            config=cfg.segment, postprocess_config=cfg.postprocess, voxel_size=vs,
            overwrite=True, progress=tick,
        )  # fmt: skip
        return {
            "device": res.device, "model": res.model_source, "model_trained": res.model_trained,
            "plan": res.plan, "slices_per_second": round(res.slices_per_second, 3),
            "foreground_fraction": res.foreground_fraction, "threshold": res.threshold,
            "model_pixel_size_nm": res.model_pixel_size_nm,
            "zoom": None if res.zoom is None else list(res.zoom),
        }  # fmt: skip

    def do_objects() -> dict[str, Any]:
        import numpy as np

        from sxtseg.morphometry import load_objects, write_instances

        labels = load_objects(paths["mask"], voxel_size=vs, config=cfg.objects)
        write_instances(paths["instances"], labels, overwrite=True)
        return {"objects": int(np.max(labels.data)) if np.asarray(labels.data).size else 0}

    def do_surfaces() -> dict[str, Any]:
        from sxtseg.mesh import surfaces_file

        res = surfaces_file(
            paths["instances"], paths["surfaces"], instances=True, voxel_size=vs,
            config=cfg.mesh, formats=cfg.formats, tomogram=src if cfg.previews else None,
            preview=cfg.previews, write_labels=False, overwrite=True, progress=report("surfaces"),
        )  # fmt: skip
        return {"meshes": res.count}

    def do_measure() -> dict[str, Any]:
        from sxtseg.morphometry import measure_file

        res = measure_file(
            paths["instances"], paths["objects"], instances=True, voxel_size=vs,
            config=cfg.measure, overwrite=True,
        )  # fmt: skip
        return {"rows": len(res.table)}

    def do_previews() -> dict[str, Any]:
        from sxtseg.io import open_volume, read_volume
        from sxtseg.mesh import slice_overlays_png

        mask = read_volume(paths["mask"], voxel_size=vs)
        tmp = temp_sibling(paths["preview_slices"]).with_suffix(".png")
        with open_volume(src, voxel_size=vs) as tomo:  # lazy: three slices are read
            slice_overlays_png(tomo.lazy, mask.data, tmp, spacing=spacing)
        os.replace(tmp, paths["preview_slices"])
        return {}

    seg_settings = {
        "model": cfg.model, "weights_sha256": identity["weights_sha256"],
        "model_pixel_size_nm": identity["pixel_size_nm"], "threshold": threshold,
        "segment": to_dict(cfg.segment), "postprocess": to_dict(cfg.postprocess),
        "voxel_size": vs, "ext": ext,
    }  # fmt: skip
    stage("segment", seg_settings, [src], [paths["mask"], paths["probabilities"]], do_segment)
    stage("objects", to_dict(cfg.objects), [paths["mask"]], [paths["instances"]], do_objects)
    stage("surfaces", {"mesh": to_dict(cfg.mesh), "formats": list(cfg.formats)},
          [paths["instances"]], [paths["surfaces"]], do_surfaces)  # fmt: skip
    stage("measure", to_dict(cfg.measure), [paths["instances"]], [paths["objects"]], do_measure)
    if cfg.previews:
        stage("previews", {}, [src, paths["mask"]], [paths["preview_slices"]], do_previews)
    summary["total_seconds"] = round(
        sum(s.get("seconds", 0.0) for s in summary["stages"].values() if not s.get("skipped")), 3
    )
    write_json_atomic(summary_path, summary)
    return RunResult(out, summary, ran, skipped)
