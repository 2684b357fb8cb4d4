"""A folder of surfaces: write one atomically from an instance volume, read its meshes back.

Layout (see :mod:`sxtseg.mesh.export`): ``objects/object_NNNNN.<fmt>``,
``scene.<fmt>``, ``surfaces.csv`` (one row per object: id, colour, area,
volume, files), ``surfaces.json`` (voxel size, origin, mesh settings) and PNG
previews. The file-level job that also makes the objects from a mask is
:func:`sxtseg.jobs.surfaces_file`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.errors import InputError
from sxtseg.mesh.config import MeshConfig
from sxtseg.mesh.export import SurfaceFiles, _moved, parse_formats, staging_dir, write_into
from sxtseg.mesh.render import render_scene_png, slice_overlays_png
from sxtseg.mesh.surface import ObjectMesh, mesh_objects
from sxtseg.types import Volume

__all__ = ["SurfacesResult", "read_surface_folder", "write_surface_folder"]

log = logging.getLogger(__name__)

#: Formats read back by :func:`read_surface_folder`, most exact first (STL repeats vertices).
_READ_ORDER = ("ply", "obj", "glb", "stl")


@dataclass(frozen=True)
class SurfacesResult:
    """What :func:`write_surface_folder` produced.

    Attributes
    ----------
    out_dir : Path
    count : int
        Number of objects.
    files : SurfaceFiles
    extra : list of Path
        Instance volume, previews and ``surfaces.json``.
    meshes : list of ObjectMesh
        The meshes written, in increasing id order.
    """

    out_dir: Path
    count: int
    files: SurfaceFiles
    extra: list[Path]
    meshes: list[ObjectMesh] = field(default_factory=list, repr=False)


def write_surface_folder(
    labels: Volume,
    out_dir: str | Path,
    *,
    config: MeshConfig | None = None,
    meshes: Sequence[ObjectMesh] | None = None,
    formats: str | Sequence[str] = ("ply", "glb"),
    tomogram: np.ndarray | None = None,
    preview: bool = True,
    also: Callable[[Path], Sequence[Path]] | None = None,
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
        Created whole (or replaced with ``overwrite``).
    config : MeshConfig, optional
        How the meshes are made (recorded in ``surfaces.json``).
    meshes : sequence of ObjectMesh, optional
        Meshes already made from ``labels`` with ``config``; made here otherwise.
    formats : str or sequence of str
        Per-object and scene formats among ``ply, obj, stl, glb``.
    tomogram : ndarray, shape (Z, Y, X), optional
        Grey image under the slice-overlay preview.
    preview : bool
        Write ``scene.png`` and ``slices.png``.
    also : callable(folder) -> list of Path, optional
        Writes more files into the (temporary) folder before it is moved into
        place, e.g. the instance volume; returns their paths.
    source : str
        Recorded in ``surfaces.json``.
    overwrite : bool
    progress : callable(done, total), optional
        Called once per meshed object.

    Returns
    -------
    SurfacesResult
    """
    fmts = parse_formats(formats)
    cfg = config or MeshConfig()
    out = Path(out_dir)
    spacing = labels.voxel_size
    if spacing is None:
        raise InputError("surfaces need a voxel size in nm")
    data = np.asarray(labels.data)
    if tomogram is not None and np.shape(tomogram) != data.shape:
        raise InputError(f"tomogram shape {np.shape(tomogram)} differs from {data.shape}")
    if meshes is None:
        meshes = mesh_objects(
            data, spacing=spacing, origin=labels.origin, config=cfg, progress=progress
        )
    meshes = list(meshes)
    extra: list[Path] = []
    with staging_dir(out, overwrite=overwrite) as tmp:
        files = write_into(tmp, meshes, fmts)
        if also is not None:
            extra.extend(also(tmp))
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
    return SurfacesResult(out, len(meshes), files, extra, meshes)


def _color(text: object) -> np.ndarray:
    s = str(text).lstrip("#")
    try:
        return np.array([int(s[i : i + 2], 16) for i in (0, 2, 4)] + [255], dtype=np.uint8)
    except ValueError:
        return np.array([200, 200, 200, 255], dtype=np.uint8)


def read_surface_folder(folder: str | Path) -> list[ObjectMesh]:
    """The per-object meshes of a surfaces folder, as delivered (vertices in nm).

    Each object is read from its most exact file (PLY, then OBJ, GLB, STL),
    so measurements of these meshes are measurements of the files.

    Parameters
    ----------
    folder : str or Path
        A folder written by :func:`write_surface_folder` (``surfaces.csv``
        lists the objects and their files).

    Returns
    -------
    list of ObjectMesh
        In the manifest's (increasing id) order.

    Raises
    ------
    InputError
        No manifest, or an object without a readable file.
    """
    import pandas as pd
    import trimesh

    root = Path(folder)
    manifest = root / "surfaces.csv"
    if not manifest.is_file():
        raise InputError(f"{root}: not a surfaces folder (no surfaces.csv)")
    table = pd.read_csv(manifest, dtype={"files": str, "color": str})
    meshes: list[ObjectMesh] = []
    for row in table.itertuples(index=False):
        names = [n for n in str(row.files).split(";") if n and n != "nan"]
        by_fmt = {Path(n).suffix.lstrip(".").lower(): root / n for n in names}
        fmt = next((f for f in _READ_ORDER if f in by_fmt and by_fmt[f].is_file()), None)
        if fmt is None:
            raise InputError(f"{root}: no mesh file of object {row.id}")
        try:
            # STL repeats each vertex per face: merge them; other formats are read as written
            tm: Any = trimesh.load(by_fmt[fmt], file_type=fmt, force="mesh", process=fmt == "stl")
        except Exception as exc:  # trimesh raises many kinds on a damaged file
            raise InputError(f"{by_fmt[fmt]}: unreadable mesh ({exc.__class__.__name__})") from None
        meshes.append(
            ObjectMesh(
                int(row.id),
                np.asarray(tm.vertices, dtype=np.float64).reshape(-1, 3),
                np.asarray(tm.faces, dtype=np.int64).reshape(-1, 3),
                _color(row.color),
            )
        )
    return meshes
