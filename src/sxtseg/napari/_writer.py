"""napari writer: a Labels layer to MRC, TIFF or OME-Zarr with its voxel size in nm."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.errors import InputError
from sxtseg.napari._layers import layer_origin, layer_voxel_size

__all__ = ["labels_dtype", "write_labels"]

log = logging.getLogger(__name__)


class _LayerView:
    """The attributes :func:`layer_voxel_size` reads, from a writer's ``meta`` dict."""

    def __init__(self, meta: dict[str, Any]) -> None:
        self.metadata = meta.get("metadata") or {}
        self.scale = meta.get("scale") or (1.0, 1.0, 1.0)
        self.translate = meta.get("translate") or (0.0, 0.0, 0.0)
        self.units = meta.get("units")


def labels_dtype(data: np.ndarray) -> np.dtype:
    """The smallest unsigned type holding the labels (uint8, uint16 or uint32).

    Raises
    ------
    InputError
        Negative labels.
    """
    if data.size and int(data.min()) < 0:
        raise InputError("labels must not be negative")
    top = int(data.max()) if data.size else 0
    for dtype in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise InputError(f"label {top} does not fit 32 bits")


def write_labels(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """npe2 writer hook for one Labels layer.

    Parameters
    ----------
    path : str
        Target; ``.mrc .rec .map .tif .tiff .zarr .h5`` (format from the extension).
    data : array-like, shape (Z, Y, X) or (Y, X)
        The labels.
    meta : dict
        The layer's attributes (``scale``, ``translate``, ``units``,
        ``metadata``); the voxel size is the one sxtseg recorded, else the
        scale when the units are nm. Without either the file gets no voxel
        size (never a made-up 1 nm).

    Returns
    -------
    list of str
        The written path.
    """
    from sxtseg.io import format_of, write_volume
    from sxtseg.types import Volume

    arr = np.asarray(data)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InputError(f"only 2D or 3D labels can be written, not {arr.ndim}D")
    dtype = labels_dtype(arr)
    if dtype == np.uint32 and format_of(path, for_writing=True) == "mrc":
        raise InputError(f"{path}: labels above 65535 do not fit MRC; use .tif, .zarr or .h5")
    view = _LayerView(meta)
    voxel = layer_voxel_size(view)
    if voxel is None:
        log.warning("%s: the layer has no voxel size in nm; written without one", path)
    origin = layer_origin(view) if voxel is not None else (0.0, 0.0, 0.0)
    vol = Volume(arr.astype(dtype, copy=False), voxel, origin, {"name": meta.get("name", "")})
    out = write_volume(path, vol, overwrite=True)
    return [str(Path(out))]
