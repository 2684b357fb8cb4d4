"""napari reader: every volume format sxtseg reads, and sxtseg results folders.

Volumes open lazily (a dask array over :func:`sxtseg.io.open_volume`'s
reader, read slice by slice on demand) with ``scale`` = voxel size in nm,
``translate`` = origin in nm and axis names (z, y, x). Integer volumes whose
name says they hold labels (``mask``, ``membranes``, ``instances``,
``labels``, ``flat``) open as Labels layers, everything else as Image layers.

A results folder of ``sxtseg run`` (it holds ``summary.json``) opens as the
tomogram (when the input recorded in the summary still exists),
probabilities, mask, instances and surfaces in one go. Surfaces are stored
with (x, y, z) vertex columns in nm; napari wants (z, y, x), so columns are
reversed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.napari._layers import AXIS_LABELS, lazy_array, volume_kwargs

__all__ = ["LABEL_STEMS", "get_reader", "read_mesh_folder", "read_paths", "read_results_folder"]

log = logging.getLogger(__name__)

LayerData = tuple[Any, dict[str, Any], str]

#: File-name stems (before the extension) that open as Labels layers when integer.
LABEL_STEMS = ("mask", "membranes", "instances", "labels", "flat", "truth")
_MESH_SUFFIXES = (".ply", ".obj", ".stl", ".glb")
_DEFAULT_OUTPUTS = {
    "probabilities": "probabilities",
    "mask": "mask",
    "instances": "instances",
    "surfaces": "surfaces",
}


def _is_results(path: Path) -> bool:
    return path.is_dir() and (path / "summary.json").is_file()


def _readable(path: Path) -> bool:
    from sxtseg.io import SUFFIXES

    if _is_results(path):
        return True
    text = str(path)
    if ".h5:" in text or ".hdf5:" in text:
        return True
    if path.suffix.lower() in SUFFIXES:
        return path.exists()
    if path.is_dir():  # a folder of single-slice TIFFs
        return any(p.suffix.lower() in (".tif", ".tiff") for p in path.iterdir())
    return False


def get_reader(path: str | list[str]) -> Callable[[Any], list[LayerData]] | None:
    """npe2 reader hook: a reader function when sxtseg can read every path, else None.

    Parameters
    ----------
    path : str or list of str
        A file, a TIFF or OME-Zarr folder, ``file.h5:/dataset``, or an sxtseg
        results folder (with ``summary.json``).
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths or not all(_readable(Path(p)) for p in paths):
        return None
    return read_paths


def read_paths(path: str | list[str]) -> list[LayerData]:
    """Layers of one or more paths (see the module docstring).

    Returns
    -------
    list of (data, kwargs, layer_type)
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    layers: list[LayerData] = []
    for p in paths:
        if _is_results(Path(p)):
            layers.extend(read_results_folder(p))
        else:
            layers.append(read_volume_layer(p))
    return layers


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".ome.zarr", ".ome.tif", ".ome.tiff"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def read_volume_layer(
    path: str | Path, *, name: str | None = None, kind: str | None = None, **extra: Any
) -> LayerData:
    """One volume as a lazy layer with its voxel size as scale.

    Parameters
    ----------
    path : str or Path
        Any format :func:`sxtseg.io.open_volume` reads.
    name : str, optional
        Layer name (default: the file name without extension).
    kind : {"image", "labels"}, optional
        Layer type (default: labels for integer volumes named like labels).
    **extra
        Further layer keywords.

    Returns
    -------
    (dask array, kwargs, layer_type)
    """
    from sxtseg.io import open_volume

    reader = open_volume(path)
    data = lazy_array(reader)
    stem = _stem(Path(str(path).split(".h5:")[0]))
    if kind is None:
        labelish = any(stem.lower().startswith(s) for s in LABEL_STEMS)
        kind = "labels" if labelish and data.dtype.kind in "iub" else "image"
    if reader.voxel_size is None:
        log.warning("%s has no voxel size in its header: shown in pixels", path)
    kw = volume_kwargs(reader.voxel_size, reader.origin, name=name or stem, source=str(path),
                       **extra)  # fmt: skip
    kw["metadata"]["sxtseg"]["header"] = {
        k: v for k, v in reader.metadata.items() if isinstance(v, (str, int, float, list, tuple))
    }
    return data, kw, kind


def read_mesh_folder(folder: str | Path, *, name: str = "surfaces") -> LayerData | None:
    """The surfaces written by ``sxtseg surfaces`` / ``run`` as one Surface layer.

    Parameters
    ----------
    folder : str or Path
        Holds ``surfaces.csv`` and ``objects/object_NNNNN.{ply,obj,stl,glb}``
        (vertex columns (x, y, z) in nm).
    name : str

    Returns
    -------
    (vertices (z, y, x) nm, faces, values = object id), kwargs, "surface") or None
        None when the folder holds no surfaces.
    """
    import pandas as pd
    import trimesh

    folder = Path(folder)
    manifest = folder / "surfaces.csv"
    if not manifest.is_file():
        return None
    table = pd.read_csv(manifest)
    verts, faces, values, colors = [], [], [], []
    offset = 0
    for row in table.itertuples(index=False):
        files = [folder / f for f in str(getattr(row, "files", "") or "").split(";") if f]
        files.sort(key=lambda p: _MESH_SUFFIXES.index(p.suffix) if p.suffix in _MESH_SUFFIXES
                   else 99)  # fmt: skip
        if not files or not files[0].is_file():
            continue
        mesh: Any = trimesh.load(files[0], force="mesh", process=False)
        v = np.asarray(mesh.vertices, dtype=np.float64)
        if not len(v):
            continue
        verts.append(v[:, ::-1])  # (x, y, z) nm -> (z, y, x) nm
        faces.append(np.asarray(mesh.faces, dtype=np.int64) + offset)
        values.append(np.full(len(v), float(row.id), dtype=np.float32))
        hexcol = str(getattr(row, "color", "#c8c8c8")).lstrip("#")
        rgb = [int(hexcol[i : i + 2], 16) / 255.0 for i in (0, 2, 4)]
        colors.append(np.tile([*rgb, 1.0], (len(v), 1)))
        offset += len(v)
    if not verts:
        return None
    data = (np.concatenate(verts).astype(np.float32), np.concatenate(faces),
            np.concatenate(values))  # fmt: skip
    kw = {
        "name": name,
        "vertex_colors": np.concatenate(colors).astype(np.float32),
        "units": ("nm", "nm", "nm"),
        "axis_labels": AXIS_LABELS,
        "metadata": {"sxtseg": {"source": str(folder), "ids": table["id"].tolist()}},
    }
    return data, kw, "surface"


def _find_output(folder: Path, name: str) -> Path | None:
    hits = sorted(p for p in folder.glob(f"{name}.*") if not p.name.startswith("."))
    return hits[0] if hits else None


def read_results_folder(folder: str | Path) -> list[LayerData]:
    """An ``sxtseg run`` output folder as layers, bottom to top.

    Tomogram (when ``summary.json``'s ``input`` still exists), probabilities
    (magma, additive), mask and instances (labels) and surfaces, each in nm.

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    list of (data, kwargs, layer_type)
    """
    folder = Path(folder)
    summary = json.loads((folder / "summary.json").read_text())
    outputs = {**_DEFAULT_OUTPUTS, **(summary.get("outputs") or {})}
    layers: list[LayerData] = []
    source = summary.get("input")
    if source and Path(str(source).split(".h5:")[0]).exists():
        layers.append(read_volume_layer(source, name=_stem(Path(source)), kind="image"))
    elif source:
        log.info("%s: the tomogram %s is not there any more; opened without it", folder, source)

    def path_of(key: str) -> Path | None:
        p = folder / outputs[key]
        return p if p.exists() else _find_output(folder, Path(outputs[key]).stem)

    prob = path_of("probabilities")
    if prob is not None:
        data, kw, _ = read_volume_layer(
            prob,
            name="probabilities",
            kind="image",
            colormap="magma",
            blending="additive",
            opacity=0.6,
        )
        kw["contrast_limits"] = (0.0, 255.0) if data.dtype == np.uint8 else (0.0, 1.0)
        layers.append((data, kw, "image"))
    for key in ("mask", "instances"):
        p = path_of(key)
        if p is not None:
            layers.append(read_volume_layer(p, name=key, kind="labels",
                                            opacity=0.5 if key == "mask" else 0.4))  # fmt: skip
    surf = folder / outputs["surfaces"]
    if surf.is_dir():
        mesh = read_mesh_folder(surf)
        if mesh is not None:
            layers.append(mesh)
    return layers
