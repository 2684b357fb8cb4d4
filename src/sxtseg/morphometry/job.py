"""Objects from files: read a mask or instance volume and make objects; write instance volumes.

The file-level job behind ``sxtseg measure`` is :func:`sxtseg.jobs.measure_file`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sxtseg.errors import InputError
from sxtseg.morphometry.config import ObjectsConfig
from sxtseg.morphometry.objects import instance_dtype, objects_from_mask, trim_instances
from sxtseg.types import SpacingLike, Volume, require_voxel_size

__all__ = ["load_objects", "write_instances"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def load_objects(
    path: str | Path,
    *,
    instances: bool = False,
    voxel_size: SpacingLike | None = None,
    config: ObjectsConfig | None = None,
    threshold: float = 0.5,
    progress: Progress | None = None,
) -> Volume:
    """Read a mask (objects are made from it) or an instance volume (used as is).

    Parameters
    ----------
    path : str or Path
        Any format :func:`sxtseg.io.read_volume` reads.
    instances : bool
        The file holds instance labels (0 = background); ids are kept and
        only the protrusion cut (new ids above the largest) and the volume
        limits of ``config`` apply.
    voxel_size : float or (z, y, x), optional
        nm; overrides the header. Required when the header has none.
    config : ObjectsConfig, optional
    threshold : float
        Foreground of a float mask (e.g. probabilities) is ``data > threshold``.
    progress : callable(done, total), optional

    Returns
    -------
    Volume
        ``data`` uint32 instance labels (Z, Y, X) with the input's voxel size
        and origin.
    """
    from sxtseg.io import read_volume

    cfg = config or ObjectsConfig()
    vol = read_volume(path, voxel_size=voxel_size)
    spacing = require_voxel_size(vol, None, what="measuring in nm")
    data = np.asarray(vol.data)
    if instances:
        if data.dtype.kind not in "iub":
            raise InputError(f"{path}: an instance volume must hold integers, not {data.dtype}")
        if data.dtype.kind == "i" and data.min() < 0:
            raise InputError(f"{path}: negative instance labels")
        labels = data.astype(np.uint32)
        trim_instances(labels, spacing=spacing, config=cfg)
    else:
        if data.dtype.kind == "f":
            mask = data > threshold
        else:
            mask = data != 0
            if data.dtype.kind in "iu" and data.max() > 1:
                log.warning(
                    "%s holds labels up to %d; treated as a binary mask (pass --instances "
                    "to keep the labels)",
                    path,
                    int(data.max()),
                )
        del data
        labels = objects_from_mask(mask, spacing=spacing, config=cfg, progress=progress)
    return Volume(labels, spacing, vol.origin, {"source": str(path)})


def write_instances(path: str | Path, labels: Volume, *, overwrite: bool = False) -> Path:
    """Write an instance volume as uint16 (when the ids fit) or uint32, with its voxel size.

    MRC has no uint32 mode: more than 65,535 objects need ``.tif``, ``.zarr``
    or ``.h5``.
    """
    from sxtseg.io import format_of, write_volume

    data = np.asarray(labels.data)
    top = int(data.max()) if data.size else 0
    dtype = instance_dtype(top)
    if dtype == np.uint32 and format_of(path, for_writing=True) == "mrc":
        raise InputError(f"{path}: {top} objects do not fit MRC (uint16); use .tif, .zarr or .h5")
    return write_volume(path, labels.with_data(data.astype(dtype, copy=False)), overwrite=overwrite)
