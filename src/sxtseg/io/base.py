"""Reader and writer protocols shared by every file format.

A reader gives lazy slice access to a (Z, Y, X) volume; a writer receives
slabs of slices in order and makes the file appear whole or not at all.
"""

from __future__ import annotations

import mmap
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from sxtseg.errors import InputError
from sxtseg.io.files import remove_stale_temporaries, temp_sibling, write_error
from sxtseg.types import Spacing, Volume

__all__ = ["VolumeReader", "VolumeWriter", "check_data", "release_mapped_pages", "temp_sibling"]


def release_mapped_pages(array: Any) -> None:
    """Drop this process's mapping of a memory-mapped array's pages (best effort).

    Reading or writing a memory map leaves the touched file pages mapped, and
    they count in the resident set size until the kernel reclaims them. They
    are page-cache pages (dirty ones are written back by the kernel), never
    private memory; ``MADV_DONTNEED`` unmaps them now so RSS reflects the
    private working set. Arrays that are not memory maps are left alone.
    """
    mm = getattr(array, "_mmap", None)
    if not isinstance(mm, mmap.mmap) or not hasattr(mm, "madvise"):
        return
    try:
        mm.madvise(mmap.MADV_DONTNEED)
    except (OSError, ValueError):  # pragma: no cover - closed map or unsupported
        pass


class VolumeReader(ABC):
    """Lazy, slice-wise access to a volume on disk.

    Attributes
    ----------
    path : Path
    shape : tuple (Z, Y, X)
    dtype : numpy.dtype
    voxel_size : (z, y, x) nm or None
    origin : (z, y, x) nm
    metadata : dict
    """

    path: Path
    shape: tuple[int, int, int]
    dtype: np.dtype
    voxel_size: Spacing | None
    origin: Spacing
    metadata: dict[str, Any]

    @abstractmethod
    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Slices ``start:stop`` as an array of shape (stop - start, Y, X)."""

    def __getitem__(self, z: int) -> np.ndarray:
        """One slice, shape (Y, X)."""
        n = self.shape[0]
        if z < 0:
            z += n
        if not 0 <= z < n:
            raise IndexError(f"slice {z} out of range for {n} slices")
        return self.read(z, z + 1)[0]

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nbytes(self) -> int:
        """Size of the whole volume in memory, in bytes."""
        return int(np.prod(self.shape)) * self.dtype.itemsize

    @property
    def lazy(self) -> Any:
        """An array-like with ``shape``, ``dtype`` and slicing; overridden where cheaper."""
        return self.read()

    def volume(self) -> Volume:
        """A :class:`Volume` whose data is read on access where the format allows."""
        return Volume(self.lazy, self.voxel_size, self.origin, dict(self.metadata))

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release file handles."""

    def __enter__(self) -> VolumeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VolumeWriter(ABC):
    """Streaming writer: slabs in, a complete file out on :meth:`close`.

    Used as a context manager, an exception inside the block removes the
    partial output, so a file appears whole or not at all.
    """

    def __init__(
        self,
        path: Path,
        shape: tuple[int, int, int],
        dtype: np.dtype,
        *,
        voxel_size: Spacing | None,
        origin: Spacing = (0.0, 0.0, 0.0),
        metadata: Mapping[str, Any] | None = None,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise InputError(f"{self.path} exists; pass --overwrite to replace it")
        if not self.path.parent.is_dir():
            raise InputError(f"{self.path.parent}: output folder does not exist")
        self.shape = (int(shape[0]), int(shape[1]), int(shape[2]))
        self.dtype = np.dtype(dtype)
        self.voxel_size = voxel_size
        self.origin = origin
        self.metadata = dict(metadata or {})
        self.tmp = temp_sibling(self.path)
        self._done = False
        remove_stale_temporaries(self.path.parent, name=self.path.name)
        try:  # a read-only or foreign folder fails here, before any work
            with open(self.tmp, "xb"):
                pass
            self.tmp.unlink()
        except OSError as exc:
            raise write_error(self.path, exc) from None

    @property
    def nbytes(self) -> int:
        """Size of the voxel data in bytes."""
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def _creation_failed(self, exc: OSError) -> InputError:
        """Remove a half-created temporary output; the error to raise for ``exc``."""
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.tmp.unlink(missing_ok=True)
        return write_error(self.path, exc, nbytes=self.nbytes)

    @abstractmethod
    def write(self, start: int, block: np.ndarray) -> None:
        """Write ``block`` (shape (n, Y, X)) at slices ``start:start + n``."""

    @abstractmethod
    def _finish(self) -> None:
        """Flush and close the temporary output."""

    def release_pages(self) -> None:  # noqa: B027 - optional hook
        """Unmap pages already written, for writers that memory-map their output."""

    def close(self) -> None:
        """Finish the file and move it into place atomically."""
        if self._done:
            return
        self._finish()
        if self.path.is_dir() and not self.path.is_symlink():
            shutil.rmtree(self.path)
        os.replace(self.tmp, self.path)
        self._done = True

    def abort(self) -> None:
        """Remove the partial output."""
        self._done = True
        try:
            self._finish()
        except Exception:
            pass
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif self.tmp.exists():
            self.tmp.unlink()

    def _check_block(self, start: int, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block)
        if block.ndim == 2:
            block = block[None]
        if block.shape[1:] != self.shape[1:] or start < 0 or start + block.shape[0] > self.shape[0]:
            raise ValueError(
                f"block of shape {block.shape} at slice {start} does not fit volume {self.shape}"
            )
        return block.astype(self.dtype, copy=False)

    def __enter__(self) -> VolumeWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            try:
                self.close()
            except BaseException:  # a full disk while flushing: no partial file either
                self.abort()
                raise
        else:
            self.abort()


def check_data(data: np.ndarray, *, path: Path | str, allow_2d: bool = True) -> np.ndarray:
    """Validate voxel data read from a file: 3 axes (2D becomes Z=1), real dtype, finite.

    Raises
    ------
    InputError
        For a wrong number of axes, an unsupported dtype or NaN/Inf values.
    """
    if data.ndim == 2 and allow_2d:
        data = data[None]
    if data.ndim != 3:
        raise InputError(f"{path}: expected a 3D volume (Z,Y,X), got {data.ndim} axes {data.shape}")
    if data.dtype.kind not in "biuf":
        raise InputError(f"{path}: unsupported data type {data.dtype}")
    return data


def count_nonfinite(block: np.ndarray) -> int:
    """Number of NaN or Inf values in a block (0 for integer data)."""
    if block.dtype.kind != "f":
        return 0
    return int(block.size - np.count_nonzero(np.isfinite(block)))
