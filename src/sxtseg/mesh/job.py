"""``sxtseg surfaces``: mask or instance file -> a folder of surfaces in nm."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.mesh.config import MeshConfig
from sxtseg.mesh.export import SurfaceFiles, _moved, parse_formats, staging_dir, write_into
from sxtseg.mesh.render import render_scene_png, slice_overlays_png
from sxtseg.mesh.surface import mesh_objects
from sxtseg.types import Volume

__all__ = ["SurfacesResult", "surfaces_file", "write_surface_folder"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SurfacesResult:
    """What :func:`surfaces_file` produced.

    Attributes
    ----------
    out_dir : Path
    count : int
        Number of objects.
    files : SurfaceFiles
    extra : list of Path
        Instance volume, previews and ``surfaces.json``.
    """

    out_dir: Path
    count: int
    files: SurfaceFiles
    extra: list[Path]


def surfaces_file(
    mask_path: str | Path,
    out_dir: str | Path,
    *,
    instances: bool = False,
    voxel_size: Any = None,
    objects: Any = None,
    config: MeshConfig | None = None,
    formats: str | Sequence[str] = ("ply", "glb"),
    threshold: float = 0.5,
    tomogram: str | Path | None = None,
    preview: bool = True,
    write_labels: bool = True,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SurfacesResult:
    """Make and write the surfaces of every object of a mask or instance file.

    Parameters
    ----------
    mask_path : str or Path
    out_dir : str or Path
        Created whole (or replaced with ``overwrite``): ``objects/``,
        ``scene.*``, ``surfaces.csv``, ``surfaces.json``, ``instances.mrc``
        (for a mask input), ``scene.png`` and ``slices.png``.
    instances, voxel_size, objects, threshold
        See :func:`sxtseg.morphometry.load_objects` (``objects`` is an
        :class:`~sxtseg.morphometry.ObjectsConfig`).
    config : MeshConfig, optional
    formats : str or sequence of str
        Per-object and scene formats among ``ply, obj, stl, glb``.
    tomogram : str or Path, optional
        A tomogram for the slice-overlay preview (same shape as the mask).
    preview : bool
        Write the PNG previews.
    write_labels : bool
        Write the instance volume made from a mask (``instances.mrc``, or
        ``instances.tif`` beyond 65,535 objects).
    overwrite : bool
    progress : callable(done, total), optional
        Called once per meshed object.

    Returns
    -------
    SurfacesResult
    """
    from sxtseg.errors import InputError
    from sxtseg.io import open_volume
    from sxtseg.morphometry.job import load_objects

    parse_formats(formats)
    out = Path(out_dir)
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InputError(f"{out} exists and is not empty (pass --overwrite to replace it)")
    labels = load_objects(
        mask_path, instances=instances, voxel_size=voxel_size, config=objects, threshold=threshold
    )
    with contextlib.ExitStack() as stack:
        tomo = None
        if preview and tomogram is not None:
            # lazy (memory-mapped where the format allows): the preview reads three slices
            tomo = stack.enter_context(open_volume(tomogram)).lazy
        return write_surface_folder(
            labels,
            out,
            config=config,
            formats=formats,
            tomogram=tomo,
            preview=preview,
            write_labels=write_labels and not instances,
            source=str(mask_path),
            overwrite=overwrite,
            progress=progress,
        )


def write_surface_folder(
    labels: Volume,
    out_dir: str | Path,
    *,
    config: MeshConfig | None = None,
    formats: str | Sequence[str] = ("ply", "glb"),
    tomogram: np.ndarray | None = None,
    preview: bool = True,
    write_labels: bool = True,
    source: str = "",
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SurfacesResult:
    """Mesh an in-memory instance volume and write the surfaces folder atomically.

    Parameters
    ----------
    labels : Volume
        Instance labels (Z, Y, X), 0 = background, with voxel size (nm) and origin.
    out_dir : str or Path
    config, formats, preview, overwrite, progress
        As in :func:`surfaces_file`.
    tomogram : ndarray, shape (Z, Y, X), optional
        Grey image under the slice-overlay preview.
    write_labels : bool
        Also write ``instances.mrc`` (``.tif`` beyond 65,535 objects).
    source : str
        Recorded in ``surfaces.json``.

    Returns
    -------
    SurfacesResult
    """
    from sxtseg.errors import InputError
    from sxtseg.morphometry.job import write_instances

    fmts = parse_formats(formats)
    cfg = config or MeshConfig()
    out = Path(out_dir)
    spacing = labels.voxel_size
    if spacing is None:
        raise InputError("surfaces need a voxel size in nm")
    data = np.asarray(labels.data)
    if tomogram is not None and np.shape(tomogram) != data.shape:
        raise InputError(f"tomogram shape {np.shape(tomogram)} differs from {data.shape}")
    meshes = mesh_objects(
        data, spacing=spacing, origin=labels.origin, config=cfg, progress=progress
    )
    extra: list[Path] = []
    with staging_dir(out, overwrite=overwrite) as tmp:
        files = write_into(tmp, meshes, fmts)
        if write_labels:
            suffix = ".mrc" if data.max(initial=0) <= np.iinfo(np.uint16).max else ".tif"
            extra.append(write_instances(tmp / f"instances{suffix}", labels))
        if preview:
            extra.append(render_scene_png(meshes, tmp / "scene.png"))
            extra.append(slice_overlays_png(tomogram, data, tmp / "slices.png", spacing=spacing))
        info = {
            "source": source,
            "objects": len(meshes),
            "voxel_size_nm_zyx": list(spacing),
            "origin_nm_zyx": list(labels.origin),
            "vertex_columns": ["x_nm", "y_nm", "z_nm"],
            "vertex_formula": "x = ix*voxel_x + origin_x, y = iy*voxel_y + origin_y, "
            "z = iz*voxel_z + origin_z  (ix, iy, iz: array indices of data[z, y, x])",
            "mesh": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
            "formats": list(fmts),
        }
        (tmp / "surfaces.json").write_text(json.dumps(info, indent=2))
        extra.append(tmp / "surfaces.json")
    files = _moved(files, tmp, out)
    extra = [out / p.relative_to(tmp) for p in extra]
    log.info("%d surfaces -> %s", len(meshes), out)
    return SurfacesResult(out, len(meshes), files, extra)
