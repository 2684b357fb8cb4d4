"""Write surfaces: one file per object and format, a combined coloured scene, a manifest.

Layout of ``OUT_DIR``::

    objects/object_00001.ply ...   one file per object and format
    scene.glb (scene.ply ...)      every object, one distinct colour each
    surfaces.csv                   id, colour, vertices, faces, area, volume, files

All coordinates are (x, y, z) in nm (glTF nominally uses metres: scale by
1e-9 if a viewer needs metres). The folder appears whole or not at all.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sxtseg.errors import InputError
from sxtseg.mesh.surface import ObjectMesh

if TYPE_CHECKING:  # pragma: no cover - trimesh is imported where meshes are made
    import trimesh

__all__ = ["FORMATS", "SurfaceFiles", "staging_dir", "write_surfaces"]

log = logging.getLogger(__name__)

FORMATS = ("ply", "obj", "stl", "glb")


@dataclass(frozen=True)
class SurfaceFiles:
    """Files written by :func:`write_surfaces` (paths inside the final folder)."""

    out_dir: Path
    objects: list[Path]
    scene: list[Path]
    manifest: Path


def parse_formats(formats: str | Sequence[str]) -> tuple[str, ...]:
    """'ply,glb' or ['ply', 'glb'] -> ('ply', 'glb'); InputError for unknown names."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out = tuple(dict.fromkeys(f.strip().lower().lstrip(".") for f in items if f.strip()))
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise InputError(f"formats must be some of {','.join(FORMATS)}, got {formats!r}")
    return out


@contextlib.contextmanager
def staging_dir(out_dir: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """A temporary sibling folder that replaces ``out_dir`` when the block succeeds.

    An existing non-empty ``out_dir`` needs ``overwrite``; on an exception the
    temporary folder is removed and ``out_dir`` is left as it was.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InputError(f"{out} exists and is not empty (pass --overwrite to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.part")
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.old")
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _export(mesh: trimesh.parent.Geometry, path: Path, fmt: str) -> None:
    data = mesh.export(None, file_type=fmt)  # no file: the bytes (or text) come back
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)


def write_into(
    folder: Path, meshes: Sequence[ObjectMesh], formats: Sequence[str], *, scene: bool = True
) -> SurfaceFiles:
    """Write the surface files into an existing folder (not atomic; see :func:`write_surfaces`)."""
    import pandas as pd
    import trimesh

    fmts = parse_formats(formats)
    objdir = folder / "objects"
    objdir.mkdir(exist_ok=True)
    obj_files: list[Path] = []
    rows = []
    for m in meshes:
        tm = m.to_trimesh()
        files = []
        for fmt in fmts:
            p = objdir / f"object_{m.id:05d}.{fmt}"
            _export(tm, p, fmt)
            files.append(p)
        obj_files.extend(files)
        rows.append(
            {
                "id": m.id,
                "color": "#{:02x}{:02x}{:02x}".format(*(int(c) for c in m.color[:3])),
                "vertices": len(m.vertices),
                "faces": len(m.faces),
                "surface_nm2": m.area_nm2,
                "mesh_volume_nm3": m.volume_nm3,
                "watertight": m.is_watertight,
                "files": ";".join(f"objects/{p.name}" for p in files),
            }
        )
    scene_files: list[Path] = []
    if scene and not any(len(m.faces) for m in meshes):
        log.warning("no objects: no scene file written")
    elif scene:
        for fmt in fmts:
            p = folder / f"scene.{fmt}"
            if fmt == "glb":
                sc = trimesh.Scene()
                for m in meshes:
                    name = f"object_{m.id:05d}"
                    sc.add_geometry(m.to_trimesh(), node_name=name, geom_name=name)
                _export(sc, p, "glb")
            else:
                parts = [m.to_trimesh() for m in meshes if len(m.faces)]
                combined = trimesh.util.concatenate(parts) if parts else trimesh.Trimesh()
                _export(combined, p, fmt)
            scene_files.append(p)
    manifest = folder / "surfaces.csv"
    cols = [
        "id",
        "color",
        "vertices",
        "faces",
        "surface_nm2",
        "mesh_volume_nm3",
        "watertight",
        "files",
    ]
    pd.DataFrame(rows, columns=cols).to_csv(manifest, index=False, float_format="%.6g")
    return SurfaceFiles(folder, obj_files, scene_files, manifest)


def write_surfaces(
    meshes: Sequence[ObjectMesh],
    out_dir: str | Path,
    *,
    formats: str | Sequence[str] = ("ply", "glb"),
    scene: bool = True,
    overwrite: bool = False,
) -> SurfaceFiles:
    """Write one file per object and format plus a combined scene, atomically.

    Parameters
    ----------
    meshes : sequence of ObjectMesh
        Vertices (x, y, z) in nm.
    out_dir : str or Path
        Folder to create (or replace with ``overwrite``).
    formats : str or sequence of str
        Some of ``ply, obj, stl, glb`` (STL carries no colour).
    scene : bool
        Also write ``scene.<fmt>`` with every object in its colour.
    overwrite : bool

    Returns
    -------
    SurfaceFiles
        Paths inside ``out_dir``.
    """
    out = Path(out_dir)
    with staging_dir(out, overwrite=overwrite) as tmp:
        files = write_into(tmp, meshes, formats, scene=scene)
    return _moved(files, tmp, out)


def _moved(files: SurfaceFiles, tmp: Path, out: Path) -> SurfaceFiles:
    def mv(p: Path) -> Path:
        return out / p.relative_to(tmp)

    return SurfaceFiles(
        out, [mv(p) for p in files.objects], [mv(p) for p in files.scene], mv(files.manifest)
    )
