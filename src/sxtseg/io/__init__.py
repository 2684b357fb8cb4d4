"""Tomogram I/O: the only code that knows file formats.

Front door
----------
- :func:`read_volume` — a whole :class:`~sxtseg.types.Volume` in memory.
- :func:`open_volume` — a :class:`~sxtseg.io.base.VolumeReader` with lazy slice access.
- :func:`write_volume` — write a Volume atomically.
- :func:`create_writer` — a streaming :class:`~sxtseg.io.base.VolumeWriter`.
- :func:`read_tilt_angles` / :func:`write_tilt_angles` — IMOD ``.tlt`` files.

Formats are chosen from the extension: ``.mrc .rec .st .ali .map`` (MRC),
``.tif .tiff`` or a folder of single-slice TIFFs, ``.zarr`` (OME-Zarr) and
``.h5 .hdf5`` (optionally ``file.h5:/dataset``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.errors import InputError
from sxtseg.io.base import VolumeReader, VolumeWriter, count_nonfinite
from sxtseg.io.tlt import read_tilt_angles, write_tilt_angles
from sxtseg.types import Spacing, SpacingLike, Volume, check_spacing

__all__ = [
    "SUFFIXES",
    "VolumeReader",
    "VolumeWriter",
    "create_writer",
    "format_of",
    "is_volume_folder",
    "open_volume",
    "read_tilt_angles",
    "read_volume",
    "write_tilt_angles",
    "write_volume",
]

SUFFIXES = {
    ".mrc": "mrc", ".rec": "mrc", ".st": "mrc", ".ali": "mrc", ".map": "mrc",
    ".tif": "tiff", ".tiff": "tiff",
    ".zarr": "zarr",
    ".h5": "hdf5", ".hdf5": "hdf5",
}  # fmt: skip


def _split_h5(path: str | Path) -> tuple[Path, str | None]:
    text = str(path)
    for suffix in (".h5:", ".hdf5:"):
        if suffix in text:
            head, _, dataset = text.partition(suffix)
            return Path(head + suffix[:-1]), dataset or None
    return Path(text), None


def format_of(path: str | Path, *, for_writing: bool = False) -> str:
    """The format name ('mrc', 'tiff', 'zarr', 'hdf5') for a path, from its extension.

    A folder without a known extension is read as a folder of TIFF slices.
    """
    p, _ = _split_h5(path)
    fmt = SUFFIXES.get(p.suffix.lower())
    if fmt is not None:
        return fmt
    if not for_writing and p.is_dir():
        return "tiff"
    known = " ".join(sorted(SUFFIXES))
    raise InputError(f"{path}: unknown file extension {p.suffix!r} (known: {known})")


def is_volume_folder(path: str | Path) -> bool:
    """True for a folder that is itself one tomogram: OME-Zarr, or TIFF slices."""
    p = Path(path)
    if not p.is_dir():
        return False
    if p.suffix.lower() == ".zarr":
        return True
    from sxtseg.io.tiff import is_slice_folder

    return is_slice_folder(p)


def open_volume(path: str | Path, *, voxel_size: SpacingLike | None = None) -> VolumeReader:
    """Open a volume for lazy slice access.

    Parameters
    ----------
    path : str or Path
        File (or TIFF folder, or ``file.h5:/dataset``).
    voxel_size : float or 3 floats, optional
        Override (z, y, x) in nm for a missing or wrong header.

    Returns
    -------
    VolumeReader
        Use as a context manager; ``reader[z]`` is one (Y, X) slice.

    Raises
    ------
    InputError
        Missing, empty, truncated or corrupt files; wrong axes; unsupported dtypes.
    """
    fmt = format_of(path)
    p, dataset = _split_h5(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_file() and p.stat().st_size == 0:
        raise InputError(f"{p}: file is empty")
    reader: VolumeReader
    if fmt == "mrc":
        from sxtseg.io.mrc import MrcReader

        reader = MrcReader(p)
    elif fmt == "tiff":
        from sxtseg.io.tiff import TiffReader

        reader = TiffReader(p)
    elif fmt == "zarr":
        from sxtseg.io.omezarr import ZarrReader

        reader = ZarrReader(p)
    else:
        from sxtseg.io.hdf5 import Hdf5Reader

        reader = Hdf5Reader(p, dataset)
    if min(reader.shape) < 1:
        reader.close()
        raise InputError(f"{p}: holds no voxels (shape {reader.shape})")
    if voxel_size is not None:
        reader.voxel_size = check_spacing(voxel_size)
    return reader


def read_volume(
    path: str | Path, *, voxel_size: SpacingLike | None = None, check_finite: bool = True
) -> Volume:
    """Read a whole volume into memory.

    Parameters
    ----------
    path : str or Path
    voxel_size : float or 3 floats, optional
        Override in nm.
    check_finite : bool
        Raise :class:`InputError` when float data holds NaN or Inf.

    Returns
    -------
    Volume
        ``data`` is a numpy array of shape (Z, Y, X).
    """
    with open_volume(path, voxel_size=voxel_size) as reader:
        data = reader.read()
        vol = Volume(data, reader.voxel_size, reader.origin, dict(reader.metadata))
    if check_finite:
        bad = count_nonfinite(data)
        if bad:
            raise InputError(f"{path}: {bad} NaN/Inf values in the data")
    return vol


def create_writer(
    path: str | Path,
    shape: tuple[int, int, int],
    dtype: Any,
    *,
    voxel_size: Spacing | None,
    origin: Spacing = (0.0, 0.0, 0.0),
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
    chunks: tuple[int, int, int] | None = None,
) -> VolumeWriter:
    """A streaming writer for ``path``; use as a context manager.

    Parameters
    ----------
    path : str or Path
        Target; the format comes from the extension.
    shape : (Z, Y, X)
    dtype : numpy dtype
    voxel_size : (z, y, x) nm or None
    origin : (z, y, x) nm
    metadata : dict, optional
        Labels, extended header and the like, kept where the format can.
    overwrite : bool
        Replace an existing file; otherwise an existing target is an InputError.
    chunks : (z, y, x), optional
        Chunk shape for OME-Zarr (default: one slice per chunk).

    Returns
    -------
    VolumeWriter
        ``writer.write(z0, block)`` with blocks of shape (n, Y, X); the file
        appears on ``close()`` and is removed if the block raises.
    """
    fmt = format_of(path, for_writing=True)
    p, dataset = _split_h5(path)
    kw: dict[str, Any] = {
        "voxel_size": voxel_size,
        "origin": origin,
        "metadata": metadata,
        "overwrite": overwrite,
    }
    if fmt == "mrc":
        from sxtseg.io.mrc import MrcWriter

        return MrcWriter(p, shape, dtype, **kw)
    if fmt == "tiff":
        from sxtseg.io.tiff import TiffWriter

        return TiffWriter(p, shape, dtype, **kw)
    if fmt == "zarr":
        from sxtseg.io.omezarr import ZarrWriter

        return ZarrWriter(p, shape, dtype, chunks=chunks, **kw)
    from sxtseg.io.hdf5 import Hdf5Writer

    return Hdf5Writer(p, shape, dtype, dataset=dataset, **kw)


def write_volume(path: str | Path, volume: Volume, *, overwrite: bool = False) -> Path:
    """Write a whole volume atomically (temporary name, then rename).

    Parameters
    ----------
    path : str or Path
    volume : Volume
        ``data`` of shape (Z, Y, X); 2D data is written as one slice.
    overwrite : bool

    Returns
    -------
    Path
        The written path.
    """
    data = np.asarray(volume.data)
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise InputError(f"cannot write {data.ndim}D data as a volume")
    if data.dtype == np.bool_:
        data = data.astype(np.uint8)
    with create_writer(
        path,
        (data.shape[0], data.shape[1], data.shape[2]),
        data.dtype,
        voxel_size=volume.voxel_size,
        origin=volume.origin,
        metadata=dict(volume.metadata),
        overwrite=overwrite,
    ) as writer:
        step = max(1, (64 << 20) // max(1, data[0].nbytes))
        for z in range(0, data.shape[0], step):
            writer.write(z, data[z : z + step])
    return _split_h5(path)[0]
