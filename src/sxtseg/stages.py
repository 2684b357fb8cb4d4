"""The stages of ``sxtseg run``: their settings (:class:`RunConfig`), files and fingerprints.

A stage is a function of files in the run's folder. Its *fingerprint* hashes
the settings that change its output and the size and modification time of
its input files; :mod:`sxtseg.pipeline` skips a stage whose fingerprint
matches the one recorded in ``summary.json`` and whose outputs exist.

Settings are normalised before hashing (1 and 1.0 are the same number,
tuples and lists the same sequence), and settings that only change where or
how fast the work runs (:data:`RUNTIME_ONLY`: device, batch size, threads,
prefetch, memory budget, scratch folder) are left out, so a rerun on another
machine or device keeps what is done. The segment stage's settings include
the model's identity (:func:`model_identity`: its weights' SHA-256,
architecture, normalisation and pixel size) and the threshold actually used.

Surfaces are made once, by the surfaces stage; the measure stage measures
the meshes of the surfaces folder, so areas and volumes in ``objects.csv``
are those of the delivered meshes. The stages' work and the runner are in
:mod:`sxtseg.pipeline`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sxtseg.config import to_dict
from sxtseg.errors import InputError
from sxtseg.infer.config import SegmentConfig
from sxtseg.mesh.config import MeshConfig
from sxtseg.morphometry.config import MeasureConfig, ObjectsConfig
from sxtseg.postprocess.config import PostprocessConfig
from sxtseg.types import Spacing

__all__ = [
    "RUNTIME_ONLY",
    "STAGES",
    "RunConfig",
    "Stage",
    "canonical",
    "fingerprint",
    "model_identity",
    "output_names",
    "plan_stages",
    "run_config_from",
    "stage_settings",
]

STAGES = ("segment", "objects", "surfaces", "measure", "previews")

#: Fields of :class:`~sxtseg.infer.SegmentConfig` that change only where and how fast
#: the network runs, never the mask: left out of the segment stage's fingerprint.
RUNTIME_ONLY = frozenset(
    {"device", "batch_size", "num_threads", "prefetch", "memory_fraction", "max_cpu_memory_mb",
     "scratch_dir", "channels_last", "compile", "fuse", "backend"}
)  # fmt: skip

_EXTS = (".mrc", ".tif", ".zarr", ".h5")
_SECTIONS = {"segment": SegmentConfig, "postprocess": PostprocessConfig,
             "objects": ObjectsConfig, "mesh": MeshConfig, "measure": MeasureConfig}  # fmt: skip


@dataclass(frozen=True)
class RunConfig:
    """Settings of the whole job; one frozen dataclass per stage inside.

    Attributes
    ----------
    model : str
        "default" (the bundled model) or a model folder.
    segment, postprocess, objects, mesh, measure
        The stages' own configurations. Surfaces are made once, with
        ``mesh``; the table measures those meshes (``measure.smooth_iterations``
        applies to the cross-section perimeters only).
    formats : tuple of str
        Mesh formats among ``ply, obj, stl, glb`` (a text "ply,glb" is accepted).
    previews : bool
        Write PNG previews.
    ext : str
        Volume format of the outputs: ".mrc", ".tif", ".zarr" or ".h5".

    Raises
    ------
    InputError
        An unknown format or extension, or a stage setting of the wrong type.
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

    def __post_init__(self) -> None:
        from sxtseg.mesh.export import parse_formats

        try:
            formats = parse_formats(self.formats)
        except InputError:
            given = self.formats if isinstance(self.formats, str) else ",".join(self.formats)
            msg = f"--formats: expected some of ply,obj,stl,glb, got {given!r}"
            raise InputError(msg) from None
        object.__setattr__(self, "formats", formats)
        ext = "." + str(self.ext).lower().lstrip(".")
        if ext not in _EXTS:
            raise InputError(f"--format: expected mrc, tif, zarr or h5, got {self.ext!r}")
        object.__setattr__(self, "ext", ext)
        for name, cls in _SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise InputError(f"RunConfig.{name} must be a {cls.__name__}")


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
    ``mesh`` and ``measure``; options given explicitly win. Every value is
    checked here, before any stage runs.

    Raises
    ------
    InputError
        An unknown section or setting, or a value out of range (one line).
    """
    from sxtseg.config import from_mapping, load_yaml

    doc: dict[str, Any] = load_yaml(yaml_path) if yaml_path is not None else {}
    unknown = sorted(set(doc) - set(_SECTIONS))
    if unknown:
        raise InputError(f"{yaml_path}: unknown section(s) {', '.join(unknown)}")
    overrides: dict[str, dict[str, Any]] = {
        "segment": dict(threshold=threshold, device=device, tta=tta, axes=axes,
                        batch_size=batch_size, tile=tile, rescale=rescale),
        "postprocess": dict(min_volume_nm3=min_volume, border_nm=border, cell_mask=cell_mask),
    }  # fmt: skip
    where = f"{yaml_path}: " if yaml_path is not None else ""
    built: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        values = doc.get(name) or {}
        if not isinstance(values, dict):
            raise InputError(f"{where}section {name} must be a mapping of settings")
        if name == "postprocess":
            values = {"min_volume_nm3": RunConfig().postprocess.min_volume_nm3, **values}
        try:
            built[name] = from_mapping(cls, values, **overrides.get(name, {}))
        except InputError:
            raise
        except (ValueError, TypeError) as exc:
            raise InputError(f"{where}{name}: {exc}") from None
    fmts = tuple(f.strip() for f in formats.split(","))
    return RunConfig(model=model, formats=fmts, previews=previews, ext=out_format, **built)


def output_names(ext: str) -> dict[str, str]:
    """Names of the outputs in the run's folder, for volumes in format ``ext`` (".mrc"...)."""
    return {
        "mask": f"mask{ext}",
        "probabilities": f"probabilities{ext}",
        "instances": f"instances{ext}",
        "surfaces": "surfaces",
        "objects": "objects.csv",
        "preview_slices": "preview_slices.png",
    }


def canonical(value: Any) -> Any:
    """Settings in a normal form for hashing: equal settings give equal values.

    Integral numbers become ``int`` (1.0 -> 1) and others ``float``, tuples
    become lists, mappings get string keys, paths their text; non-finite
    numbers become their text. Booleans stay booleans.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (int, float)):  # numpy
        return canonical(value.tolist())
    if isinstance(value, (int, float)):
        x = float(value)
        if not math.isfinite(x):
            return str(x)
        if x.is_integer() and abs(x) < 2**53:
            return int(x)
        return x
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def _file_stamp(path: Path) -> list[Any]:
    if path.is_dir():
        items = sorted(p for p in path.rglob("*") if p.is_file())
        return [[str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns] for p in items]
    st = path.stat()
    return [path.name, st.st_size, st.st_mtime_ns]


def fingerprint(settings: Any, inputs: list[Path] | tuple[Path, ...] = ()) -> str:
    """A short hash of normalised ``settings`` and the size and time of each input file.

    Raises
    ------
    FileNotFoundError
        An input is missing.
    """
    text = json.dumps(
        {"settings": canonical(settings), "inputs": [_file_stamp(Path(p)) for p in inputs]},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def model_identity(model: str | Path) -> dict[str, Any]:
    """What identifies a model folder's output: weights, architecture, normalisation, pixel size.

    Reads ``config.json`` only (the weights' SHA-256 recorded there; the
    safetensors file is hashed when the record is missing). No torch.

    Returns
    -------
    dict
        ``weights_sha256``, ``architecture_sha256`` (of the model settings),
        ``label_output`` (None if not recorded), ``normalization`` (the
        recorded input normalisation, None for old folders),
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
    raw = doc.get("meta")
    meta: dict[str, Any] = raw if isinstance(raw, dict) else {}
    arch = json.dumps(canonical(doc["model"]), sort_keys=True)
    return {
        "weights_sha256": doc.get("weights_sha256") or sha256_file(weights),
        "architecture_sha256": hashlib.sha256(arch.encode()).hexdigest()[:16],
        "label_output": doc["model"].get("label_output"),
        "normalization": meta.get("normalization"),
        "pixel_size_nm": meta.get("pixel_size_nm"),
        "threshold": meta.get("threshold"),
    }


def stage_settings(
    cfg: RunConfig, *, identity: Mapping[str, Any], threshold: float, spacing: Spacing
) -> dict[str, dict[str, Any]]:
    """The settings each stage's output depends on (normalised), by stage name.

    Parameters
    ----------
    cfg : RunConfig
    identity : mapping
        :func:`model_identity` of ``cfg.model``.
    threshold : float
        The mask threshold used (``cfg.segment.threshold_for(identity["threshold"])``).
    spacing : (z, y, x)
        Voxel size in nm.
    """
    seg = {k: v for k, v in to_dict(cfg.segment).items()
           if k not in RUNTIME_ONLY and k != "threshold"}  # fmt: skip
    vs = list(spacing)
    out = {
        "segment": {
            "model": {k: identity.get(k) for k in ("weights_sha256", "architecture_sha256",
                                                   "normalization", "pixel_size_nm")},
            "threshold": threshold, "segment": seg, "postprocess": to_dict(cfg.postprocess),
            "voxel_size": vs, "ext": cfg.ext,
        },
        "objects": {"objects": to_dict(cfg.objects), "voxel_size": vs},
        "surfaces": {"mesh": to_dict(cfg.mesh), "formats": list(cfg.formats),
                     "previews": cfg.previews, "voxel_size": vs},
        "measure": {"measure": to_dict(cfg.measure), "voxel_size": vs},
        "previews": {"voxel_size": vs},
    }  # fmt: skip
    return {k: canonical(v) for k, v in out.items()}


@dataclass(frozen=True)
class Stage:
    """One stage of a run: its settings, input files and output files."""

    name: str
    settings: dict[str, Any]
    inputs: tuple[Path, ...]
    outputs: tuple[Path, ...]

    def fingerprint(self) -> str:
        """:func:`fingerprint` of the settings and inputs (FileNotFoundError if one is missing)."""
        return fingerprint(self.settings, self.inputs)

    def is_done(self, record: Mapping[str, Any] | None) -> bool:
        """The recorded fingerprint matches and every output exists."""
        if not record or not all(p.exists() for p in self.outputs):
            return False
        try:
            return record.get("fingerprint") == self.fingerprint()
        except FileNotFoundError:
            return False


def plan_stages(
    cfg: RunConfig,
    src: Path,
    paths: Mapping[str, Path],
    *,
    identity: Mapping[str, Any],
    threshold: float,
    spacing: Spacing,
) -> list[Stage]:
    """The stages of a run in order, with the files each reads and writes."""
    settings = stage_settings(cfg, identity=identity, threshold=threshold, spacing=spacing)
    p = paths
    io = {
        "segment": ((src,), (p["mask"], p["probabilities"])),
        "objects": ((p["mask"],), (p["instances"],)),
        "surfaces": ((p["instances"], src) if cfg.previews else (p["instances"],),
                     (p["surfaces"],)),
        "measure": ((p["instances"], p["surfaces"]), (p["objects"],)),
        "previews": ((src, p["mask"]), (p["preview_slices"],)),
    }  # fmt: skip
    names = [s for s in STAGES if s != "previews" or cfg.previews]
    return [Stage(n, settings[n], *io[n]) for n in names]
