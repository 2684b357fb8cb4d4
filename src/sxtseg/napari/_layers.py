"""Layer plumbing shared by the reader, writer and widgets (no napari import).

napari layers carry ``scale`` and ``translate`` in world units; sxtseg's
layers use nanometres, so a layer's scale *is* its voxel size (z, y, x) in nm
and its translate the origin. The voxel size is also recorded in
``layer.metadata["sxtseg"]["voxel_size_nm"]`` (``None`` when the file did not
say), so a layer whose scale was never set is not mistaken for 1 nm voxels.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from sxtseg.types import Spacing

__all__ = [
    "AXIS_LABELS",
    "ReaderArray",
    "layer_origin",
    "layer_voxel_size",
    "lazy_array",
    "meshes_to_surface",
    "volume_kwargs",
]

#: Axis names of every (Z, Y, X) layer.
AXIS_LABELS = ("z", "y", "x")
_NM = ("nm", "nanometer", "nanometers", "nanometre")


class ReaderArray:
    """An array-like over a :class:`~sxtseg.io.VolumeReader` that reads slabs of Z.

    Dask chunks call ``__getitem__`` with tuples of slices; each call reads
    only the slices it needs (under a lock: the readers' file handles are not
    thread-safe).

    Parameters
    ----------
    reader : VolumeReader
        Kept open for the lifetime of this object.
    """

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.shape = tuple(int(n) for n in reader.shape)
        self.dtype = np.dtype(reader.dtype)
        self.ndim = 3
        self._lock = threading.Lock()

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (3 - len(key))
        first = key[0]
        if isinstance(first, slice) and first.step in (None, 1):
            start, stop, _ = first.indices(self.shape[0])
            with self._lock:
                block = self.reader.read(start, max(start, stop))
            index = (slice(None), *key[1:])
            return block[index]
        if isinstance(first, (int, np.integer)):
            z = int(first) % self.shape[0]
            with self._lock:
                block = self.reader.read(z, z + 1)
            index = (0, *key[1:])
            return block[index]
        with self._lock:
            return self.reader.read()[key]


def lazy_array(reader: Any, *, slab_bytes: int = 32 << 20) -> Any:
    """A dask array over ``reader``, chunked in whole (Y, X) slices.

    Parameters
    ----------
    reader : VolumeReader
    slab_bytes : int
        Target chunk size; a chunk holds at least one slice.

    Returns
    -------
    dask.array.Array, shape (Z, Y, X)
    """
    import dask.array as da

    arr = ReaderArray(reader)
    per_slice = max(1, arr.shape[1] * arr.shape[2] * arr.dtype.itemsize)
    nz = int(min(arr.shape[0], max(1, slab_bytes // per_slice)))
    meta = np.empty((0, 0, 0), dtype=arr.dtype)
    return da.from_array(arr, chunks=(nz, arr.shape[1], arr.shape[2]), meta=meta,
                         asarray=False, fancy=False)  # fmt: skip


def volume_kwargs(
    voxel_size: Spacing | None,
    origin: Sequence[float] = (0.0, 0.0, 0.0),
    *,
    name: str,
    source: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Layer keyword arguments for a (Z, Y, X) volume in nm.

    Parameters
    ----------
    voxel_size : (z, y, x) nm or None
        ``None`` (unknown) gives scale 1 in pixel units and no translate.
    origin : (z, y, x) nm
    name : str
    source : str, optional
        File the data came from (kept in the metadata).
    **extra
        Further layer keywords (colormap, opacity, ...).

    Returns
    -------
    dict
        ``name, scale, translate, units, axis_labels, metadata`` plus ``extra``.
    """
    known = voxel_size is not None
    record = {
        "voxel_size_nm": tuple(float(v) for v in voxel_size) if known else None,  # type: ignore[union-attr]
        "origin_nm": tuple(float(v) for v in origin) if known else (0.0, 0.0, 0.0),
        "source": source,
    }
    kw: dict[str, Any] = {
        "name": name,
        "scale": record["voxel_size_nm"] or (1.0, 1.0, 1.0),
        "translate": record["origin_nm"],
        "axis_labels": AXIS_LABELS,
        "metadata": {"sxtseg": record},
    }
    if known:
        kw["units"] = ("nm", "nm", "nm")
    kw.update(extra)
    return kw


def _record(layer: Any) -> dict[str, Any] | None:
    meta = getattr(layer, "metadata", None) or {}
    rec = meta.get("sxtseg")
    return rec if isinstance(rec, dict) else None


def layer_voxel_size(layer: Any) -> Spacing | None:
    """The (z, y, x) voxel size in nm of a layer, or None when unknown.

    The value recorded by sxtseg (``metadata["sxtseg"]["voxel_size_nm"]``)
    wins; otherwise the scale counts when the layer's units are nanometres.
    A plain layer of scale 1 in pixels has no voxel size (never guessed).
    """
    rec = _record(layer)
    if rec is not None and "voxel_size_nm" in rec:
        vs = rec["voxel_size_nm"]
        return None if vs is None else (float(vs[-3]), float(vs[-2]), float(vs[-1]))
    units = [str(u).lower() for u in (getattr(layer, "units", None) or ())][-3:]
    if len(units) == 3 and all(u in _NM for u in units):
        s = [float(v) for v in layer.scale[-3:]]
        return (s[0], s[1], s[2])
    return None


def layer_origin(layer: Any) -> Spacing:
    """The (z, y, x) position in nm of voxel (0, 0, 0) (the layer's translate)."""
    t = [float(v) for v in getattr(layer, "translate", (0.0, 0.0, 0.0))[-3:]]
    t = [0.0] * (3 - len(t)) + t
    return (t[0], t[1], t[2])


def meshes_to_surface(meshes: Sequence[Any]) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Concatenate :class:`~sxtseg.mesh.ObjectMesh` surfaces into napari Surface data.

    Parameters
    ----------
    meshes : sequence of ObjectMesh
        Vertices (x, y, z) in nm, as sxtseg stores them.

    Returns
    -------
    (vertices, faces, values), vertex_colors
        ``vertices`` (N, 3) float32 in napari's (z, y, x) order, nm;
        ``faces`` (M, 3) int64; ``values`` (N,) float32 object ids;
        ``vertex_colors`` (N, 4) float32 RGBA in [0, 1].
    """
    verts, faces, values, colors = [], [], [], []
    offset = 0
    for m in meshes:
        v = np.asarray(m.vertices, dtype=np.float64)
        if not len(v):
            continue
        verts.append(v[:, ::-1])
        faces.append(np.asarray(m.faces, dtype=np.int64) + offset)
        values.append(np.full(len(v), float(m.id), dtype=np.float32))
        rgba = np.asarray(m.color, dtype=np.float32) / 255.0
        colors.append(np.broadcast_to(rgba, (len(v), 4)))
        offset += len(v)
    if not verts:
        empty = (np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int64), np.zeros(0, np.float32))
        return empty, np.zeros((0, 4), np.float32)
    data = (np.concatenate(verts).astype(np.float32), np.concatenate(faces),
            np.concatenate(values))  # fmt: skip
    return data, np.concatenate(colors).astype(np.float32)
