"""OME-Zarr (NGFF) volumes through :mod:`zarr` and :mod:`ome_zarr`.

Written as one multiscale image (``0`` = full resolution, then 2× pyramid
levels in Y and X while a level stays ≥ 256 px), axes ``z, y, x`` in
nanometres with a ``scale`` transform per level and chunks of one slice, so a
reader can take a single slice cheaply. Reading accepts NGFF 0.4 (zarr v2)
and 0.5 (zarr v3) metadata, or a bare zarr array (voxel size unknown).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.errors import InputError
from sxtseg.io.base import VolumeReader, VolumeWriter, check_data
from sxtseg.io.files import write_error
from sxtseg.io.tiff import unit_to_nm
from sxtseg.types import Spacing

__all__ = ["ZarrReader", "ZarrWriter"]

log = logging.getLogger(__name__)
_MIN_LEVEL_PX = 256


def _multiscales(attrs: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    if "ome" in attrs and isinstance(attrs["ome"], Mapping):
        attrs = attrs["ome"]
    ms = attrs.get("multiscales")
    return list(ms) if ms else None


def _transform_of(dataset: Mapping[str, Any], kind: str) -> list[float] | None:
    for t in dataset.get("coordinateTransformations", []):
        if t.get("type") == kind:
            return [float(v) for v in t[kind]]
    return None


class ZarrReader(VolumeReader):
    """Lazy OME-Zarr reader (full-resolution level)."""

    def __init__(self, path: str | Path) -> None:
        import zarr

        self.path = Path(path)
        try:
            node = zarr.open(str(self.path), mode="r")
        except Exception as exc:
            raise InputError(f"{self.path}: not a readable zarr store ({exc})") from None
        spacing: Spacing | None = None
        origin: Spacing = (0.0, 0.0, 0.0)
        if isinstance(node, zarr.Array):
            arr = node
        else:
            ms = _multiscales(dict(node.attrs))
            if not ms:
                raise InputError(f"{self.path}: zarr group without OME-NGFF multiscales metadata")
            first = ms[0]
            dataset = first["datasets"][0]
            level = node[dataset["path"]]
            if not isinstance(level, zarr.Array):
                raise InputError(
                    f"{self.path}: multiscale level {dataset['path']!r} is not an array"
                )
            arr = level
            axes = first.get("axes", [])
            names = [a["name"] if isinstance(a, Mapping) else str(a) for a in axes]
            scale = _transform_of(dataset, "scale")
            shift = _transform_of(dataset, "translation")
            spatial = [i for i, n in enumerate(names) if n in ("z", "y", "x")]
            if scale is not None and len(spatial) == 3:
                units = [
                    axes[i].get("unit") if isinstance(axes[i], Mapping) else None for i in spatial
                ]
                factors = [f for f in (unit_to_nm(u) for u in units) if f is not None]
                if len(factors) == 3:  # every spatial axis has a known unit
                    vals = [scale[i] * f for i, f in zip(spatial, factors)]
                    if min(vals) > 0:
                        spacing = (vals[0], vals[1], vals[2])
                    if shift is not None:
                        o = [shift[i] * f for i, f in zip(spatial, factors)]
                        origin = (o[0], o[1], o[2])
        shape = tuple(int(s) for s in arr.shape)
        while len(shape) > 3 and shape[0] == 1:  # leading t/c axes of length 1: read() skips them
            shape = shape[1:]
        check_data(np.empty((0,) * len(shape), arr.dtype), path=self.path)
        if len(shape) == 2:
            shape = (1, *shape)
        self._arr = arr
        self._ndim = len(arr.shape)
        self.shape = (shape[-3], shape[-2], shape[-1])
        self.dtype = np.dtype(arr.dtype)
        self.voxel_size = spacing
        if spacing is None:
            log.warning("%s: no physical scale in the OME-Zarr metadata", self.path)
        self.origin = origin
        self.metadata: dict[str, Any] = {"format": "zarr", "path": str(self.path)}

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        lead = (0,) * (self._ndim - 3)
        if self._ndim == 2:
            return np.asarray(self._arr[...])[None][start:stop]
        index = (*lead, slice(start, stop))
        return np.asarray(self._arr[index])

    @property
    def lazy(self) -> Any:
        return self._arr if self._ndim == 3 else self.read()


class ZarrWriter(VolumeWriter):
    """Streaming OME-Zarr writer; pyramid levels are added on close."""

    def __init__(
        self,
        path: str | Path,
        shape: tuple[int, int, int],
        dtype: Any,
        *,
        chunks: tuple[int, int, int] | None = None,
        **kw: Any,
    ) -> None:
        import zarr

        super().__init__(Path(path), shape, np.dtype(dtype), **kw)
        self._chunks = chunks or (1, min(self.shape[1], 1024), min(self.shape[2], 1024))
        self._group: zarr.Group | None = zarr.open_group(str(self.tmp), mode="w")
        self._arr = self._group.create_array(
            "0", shape=self.shape, chunks=self._chunks, dtype=self.dtype, fill_value=0
        )

    def write(self, start: int, block: np.ndarray) -> None:
        block = self._check_block(start, block)
        try:
            self._arr[start : start + block.shape[0]] = block
        except OSError as exc:  # chunks are files: a full disk shows here
            raise write_error(self.path, exc) from None

    def _levels(self) -> int:
        n, y, x = 1, self.shape[1], self.shape[2]
        while min(y, x) // 2 >= _MIN_LEVEL_PX and n < 5:
            y, x, n = y // 2, x // 2, n + 1
        return n

    def _finish(self) -> None:
        if self._group is None:
            return
        from ome_zarr.writer import write_multiscales_metadata

        base = self.voxel_size or (1.0, 1.0, 1.0)
        shift = {"type": "translation", "translation": list(self.origin)}

        def transforms(scale: list[float]) -> dict[str, Any]:
            return {"coordinateTransformations": [{"type": "scale", "scale": scale}, shift]}

        datasets = [{"path": "0", **transforms(list(base))}]
        src = self._arr
        for level in range(1, self._levels()):
            f = 2**level
            shape = (self.shape[0], -(-self.shape[1] // f), -(-self.shape[2] // f))
            dst = self._group.create_array(
                str(level), shape=shape, chunks=(1, *self._chunks[1:]), dtype=self.dtype,
                fill_value=0,
            )  # fmt: skip
            step = max(1, (64 << 20) // max(1, src.shape[1] * src.shape[2] * self.dtype.itemsize))
            for z in range(0, self.shape[0], step):
                dst[z : z + step] = np.asarray(src[z : z + step])[:, ::2, ::2]
            src = dst
            scale = [base[0], base[1] * f, base[2] * f]
            datasets.append({"path": str(level), **transforms(scale)})
        unit = "nanometer" if self.voxel_size is not None else None
        axes = [{"name": n, "type": "space", **({"unit": unit} if unit else {})} for n in "zyx"]
        write_multiscales_metadata(self._group, datasets, axes=axes, name=self.path.stem)
        self._group = None
