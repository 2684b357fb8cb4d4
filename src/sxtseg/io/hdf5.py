"""HDF5 volumes through :mod:`h5py`: ``file.h5`` (its only 3D dataset) or ``file.h5:/path``.

Voxel size is read from the dataset attributes ``voxel_size_nm`` (z, y, x),
or ``element_size_um`` (the ilastik / SuRVoS convention, µm); both are written.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.errors import InputError
from sxtseg.io.base import VolumeReader, VolumeWriter, check_data
from sxtseg.io.files import reserve_file
from sxtseg.types import Spacing

__all__ = ["Hdf5Reader", "Hdf5Writer"]


def _find_3d(h5: Any) -> list[str]:
    import h5py

    found: list[str] = []
    h5.visititems(
        lambda name, obj: found.append(name)
        if isinstance(obj, h5py.Dataset) and obj.ndim == 3
        else None
    )
    return found


class Hdf5Reader(VolumeReader):
    """Lazy HDF5 dataset reader."""

    def __init__(self, path: str | Path, dataset: str | None = None) -> None:
        import h5py

        self.path = Path(path)
        try:
            self._h5 = h5py.File(self.path, "r")
        except OSError as exc:
            raise InputError(f"{self.path}: not a readable HDF5 file ({exc})") from None
        if dataset is None:
            names = _find_3d(self._h5)
            if len(names) != 1:
                self._h5.close()
                what = "no 3D dataset" if not names else f"{len(names)} 3D datasets"
                raise InputError(f"{self.path}: {what}; name one as FILE.h5:/path")
            dataset = names[0]
        if dataset not in self._h5 or not isinstance(self._h5[dataset], h5py.Dataset):
            self._h5.close()
            raise InputError(f"{self.path}: no dataset {dataset!r}")
        ds = self._h5[dataset]
        check_data(np.empty((0,) * ds.ndim, ds.dtype), path=f"{self.path}:{dataset}", allow_2d=True)
        self._ds = ds
        shape = ds.shape if ds.ndim == 3 else (1, *ds.shape)
        self.shape = (int(shape[0]), int(shape[1]), int(shape[2]))
        self.dtype = np.dtype(ds.dtype)
        self.voxel_size = self._spacing(ds)
        origin = [float(v) for v in np.ravel(ds.attrs.get("origin_nm", (0.0, 0.0, 0.0)))]
        if len(origin) != 3:
            raise InputError(f"{self.path}:{dataset}: origin_nm must hold 3 numbers (z, y, x)")
        self.origin = (origin[0], origin[1], origin[2])
        self.metadata: dict[str, Any] = {
            "format": "hdf5", "path": f"{self.path}:{dataset}", "dataset": dataset,
        }  # fmt: skip

    @staticmethod
    def _spacing(ds: Any) -> Spacing | None:
        if "voxel_size_nm" in ds.attrs:
            v = [float(a) for a in np.ravel(ds.attrs["voxel_size_nm"])]
        elif "element_size_um" in ds.attrs:
            v = [float(a) * 1e3 for a in np.ravel(ds.attrs["element_size_um"])]
        else:
            return None
        if len(v) != 3 or min(v) <= 0:
            return None
        return (v[0], v[1], v[2])

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        if self._ds.ndim == 2:
            return np.asarray(self._ds[()])[None][start:stop]
        return np.asarray(self._ds[start:stop])

    def close(self) -> None:
        self._h5.close()


def _os_error(exc: Exception) -> OSError | None:
    """The OSError behind an HDF5 error ("... errno = 28 ..." in a ValueError), if any."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc
    found = re.search(r"errno = (\d+)", str(exc))
    if found is None:
        return exc if isinstance(exc, OSError) else None
    code = int(found.group(1))
    return OSError(code, os.strerror(code))


class Hdf5Writer(VolumeWriter):
    """Streaming HDF5 writer, chunked one slice per chunk."""

    def __init__(
        self,
        path: str | Path,
        shape: tuple[int, int, int],
        dtype: Any,
        *,
        dataset: str | None = None,
        **kw: Any,
    ) -> None:
        import h5py

        super().__init__(Path(path), shape, np.dtype(dtype), **kw)
        self._h5: Any = None
        try:
            self._create(h5py, (dataset or "data").lstrip("/"))
        except Exception as exc:
            self._finish_quietly()
            os_error = _os_error(exc)
            if os_error is None:
                self._creation_failed(OSError(str(exc)))
                raise
            raise self._creation_failed(os_error) from None

    def _create(self, h5py: Any, name: str) -> None:
        """Create the file with every chunk allocated now and its disk blocks reserved.

        HDF5 met a full disk halfway through a write with an error and then a
        segmentation fault when the file was collected; allocating early turns
        a full disk into an error before any work is done.
        """
        self._h5 = h5 = h5py.File(self.tmp, "w")
        chunks = (1, min(self.shape[1], 1024), min(self.shape[2], 1024))
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        self._ds = h5.create_dataset(
            name, shape=self.shape, dtype=self.dtype, chunks=chunks, dcpl=dcpl
        )
        if self.voxel_size is not None:
            self._ds.attrs["voxel_size_nm"] = np.asarray(self.voxel_size, dtype=np.float64)
            self._ds.attrs["element_size_um"] = np.asarray(self.voxel_size) / 1e3
        self._ds.attrs["origin_nm"] = np.asarray(self.origin, dtype=np.float64)
        self._ds.attrs["axes"] = "zyx"
        h5.flush()
        reserve_file(self.tmp, extra=1 << 16)  # and room for the metadata written on close

    def _finish_quietly(self) -> None:
        try:
            self._finish()
        except Exception:
            self._h5 = None

    def write(self, start: int, block: np.ndarray) -> None:
        block = self._check_block(start, block)
        self._ds[start : start + block.shape[0]] = block

    def _finish(self) -> None:
        h5, self._h5 = self._h5, None
        if h5 is not None:
            h5.close()
