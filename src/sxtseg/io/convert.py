"""Format conversion and file summaries, streamed slab by slab."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.errors import InputError
from sxtseg.io import create_writer, open_volume, read_tilt_angles
from sxtseg.io.base import VolumeReader, count_nonfinite
from sxtseg.types import Spacing, SpacingLike

__all__ = ["VolumeInfo", "convert_volume", "describe", "iter_slabs", "slab_size"]


def slab_size(reader: VolumeReader, *, max_bytes: int = 64 << 20) -> int:
    """Number of slices per slab so one slab stays under ``max_bytes``."""
    per_slice = max(1, reader.shape[1] * reader.shape[2] * reader.dtype.itemsize)
    return max(1, min(reader.shape[0], max_bytes // per_slice))


def iter_slabs(
    reader: VolumeReader, *, max_bytes: int = 64 << 20
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (z0, block) with blocks of shape (n, Y, X) covering the volume in order."""
    step = slab_size(reader, max_bytes=max_bytes)
    for z in range(0, reader.shape[0], step):
        yield z, reader.read(z, min(z + step, reader.shape[0]))


@dataclass(frozen=True)
class VolumeInfo:
    """Summary of a volume file (what ``sxtseg info`` prints)."""

    path: str
    format: str
    shape: tuple[int, int, int]
    dtype: str
    voxel_size_nm: Spacing | None
    origin_nm: Spacing
    extent_nm: tuple[float, float, float] | None
    minimum: float
    maximum: float
    mean: float
    nonfinite: int
    nbytes: int
    tilt_range_deg: tuple[float, float, int] | None


def _find_tilt_file(path: Path) -> Path | None:
    candidates = [path.with_suffix(".tlt"), path.parent / "tilt_angles.tlt"]
    return next((c for c in candidates if c.is_file()), None)


def describe(path: str | Path, *, voxel_size: SpacingLike | None = None) -> VolumeInfo:
    """Read a volume once, slab by slab, and summarise it.

    Returns
    -------
    VolumeInfo
        Shape (Z, Y, X), dtype, voxel size and extent in nm, value range over
        finite values, count of NaN/Inf, size in memory, and the tilt range
        from a ``.tlt`` file next to it (same stem, or ``tilt_angles.tlt``).
    """
    with open_volume(path, voxel_size=voxel_size) as reader:
        lo, hi, total, count, bad = np.inf, -np.inf, 0.0, 0, 0
        for _, block in iter_slabs(reader):
            bad += count_nonfinite(block)
            finite = block[np.isfinite(block)] if block.dtype.kind == "f" else block
            if finite.size:
                lo = min(lo, float(finite.min()))
                hi = max(hi, float(finite.max()))
                total += float(finite.sum(dtype=np.float64))
                count += finite.size
        vs = reader.voxel_size
        extent: Spacing | None = None
        if vs is not None:
            (nz, ny, nx), (sz, sy, sx) = reader.shape, vs
            extent = (nz * sz, ny * sy, nx * sx)
        tilt = None
        tlt = _find_tilt_file(Path(str(path)))
        if tlt is not None:
            try:
                angles = read_tilt_angles(tlt)
                tilt = (float(angles.min()), float(angles.max()), int(angles.size))
            except InputError:
                tilt = None
        return VolumeInfo(
            path=str(path),
            format=str(reader.metadata.get("format", "?")),
            shape=reader.shape,
            dtype=str(reader.dtype),
            voxel_size_nm=vs,
            origin_nm=reader.origin,
            extent_nm=extent,
            minimum=lo if count else float("nan"),
            maximum=hi if count else float("nan"),
            mean=total / count if count else float("nan"),
            nonfinite=bad,
            nbytes=reader.nbytes,
            tilt_range_deg=tilt,
        )


def convert_volume(
    src: str | Path,
    dst: str | Path,
    *,
    voxel_size: SpacingLike | None = None,
    dtype: Any = None,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Convert any supported volume format to any other, slab by slab.

    Voxel size, origin and (where the target can hold them) labels travel
    along, so a volume larger than RAM converts in bounded memory.

    Parameters
    ----------
    src, dst : path
        Input and output; formats from the extensions.
    voxel_size : float or 3 floats, optional
        Override in nm.
    dtype : numpy dtype, optional
        Output type (default: the input's).
    overwrite : bool
    progress : callable, optional
        Called with the number of slices written after each slab.

    Returns
    -------
    Path
        The written path.
    """
    with open_volume(src, voxel_size=voxel_size) as reader:
        out_dtype = np.dtype(dtype) if dtype is not None else reader.dtype
        meta = {k: v for k, v in reader.metadata.items() if k in {"labels"}}
        with create_writer(
            dst,
            reader.shape,
            out_dtype,
            voxel_size=reader.voxel_size,
            origin=reader.origin,
            metadata=meta,
            overwrite=overwrite,
        ) as writer:
            for z, block in iter_slabs(reader):
                bad = count_nonfinite(block)
                if bad:
                    raise InputError(f"{src}: {bad} NaN/Inf values in slices from {z}")
                writer.write(z, block)
                if progress is not None:
                    progress(block.shape[0])
        return writer.path
