"""TIFF stacks and folders of single-slice TIFFs through :mod:`tifffile`.

Spacing is read from ImageJ metadata (``unit`` + ``spacing`` + X/Y
resolution) or from the TIFF resolution tags, and written as ImageJ metadata
in nm, so Fiji and MIB show the right scale. Stacks are written as
uncompressed, memory-mapped ImageJ hyperstacks, slice by slice.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.errors import InputError
from sxtseg.io.base import VolumeReader, VolumeWriter, check_data
from sxtseg.io.files import reserve_file
from sxtseg.types import Spacing

__all__ = ["TiffReader", "TiffWriter", "is_slice_folder", "unit_to_nm"]

log = logging.getLogger(__name__)

_UNITS_NM = {
    "nm": 1.0, "nanometer": 1.0, "nanometre": 1.0,
    "um": 1e3, "µm": 1e3, "\u03bcm": 1e3, "micron": 1e3, "microns": 1e3, "micrometer": 1e3,
    "mm": 1e6, "cm": 1e7, "m": 1e9,
    "a": 0.1, "å": 0.1, "angstrom": 0.1, "\u212b": 0.1,
}  # fmt: skip
# ImageJ stores these dtypes natively; others are converted on writing.
_IMAGEJ_DTYPES = {"uint8", "uint16", "float32"}


_TIFF_SUFFIXES = (".tif", ".tiff")


def is_slice_folder(path: Path) -> bool:
    """True for a folder whose first (visible) TIFF holds one 2D slice: a tomogram as slices.

    An unreadable first TIFF gives False, so a folder scan reports the files
    one by one instead.
    """
    if not path.is_dir():
        return False
    tiffs = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _TIFF_SUFFIXES
                   and not p.name.startswith("."))  # fmt: skip
    if not tiffs:
        return False
    import tifffile

    try:
        with tifffile.TiffFile(tiffs[0]) as tif:
            return len(tif.series[0].shape) == 2 and len(tif.pages) == 1
    except Exception:  # an unreadable TIFF of any kind: not a slice folder
        return False


def unit_to_nm(unit: str | None) -> float | None:
    """Factor from a length unit name to nm, or None for unknown units ('pixel')."""
    if not unit:
        return None
    return _UNITS_NM.get(str(unit).strip().lower())


def _spacing_from_page(tif: Any) -> Spacing | None:
    """(z, y, x) nm from the first page's tags; None when absent, garbled or not positive."""
    try:
        spacing = _spacing_from_tags(tif)
    except (ValueError, TypeError, ZeroDivisionError, OverflowError, AttributeError):
        return None
    if spacing is None or not all(np.isfinite(spacing)) or min(spacing) <= 0:
        return None
    return spacing


def _spacing_from_tags(tif: Any) -> Spacing | None:
    page = tif.pages[0]
    ij = tif.imagej_metadata or {}
    factor = unit_to_nm(ij.get("unit"))
    xres = page.tags.get("XResolution")
    yres = page.tags.get("YResolution")
    if factor is None:
        unit_tag = page.tags.get("ResolutionUnit")
        code = int(unit_tag.value) if unit_tag is not None else 1
        factor = {3: 1e7, 2: 2.54e7}.get(code)  # centimetre, inch
    if factor is None or xres is None or yres is None:
        return None

    def size(tag: Any) -> float:
        num, den = tag.value
        return float(den) / float(num) if num else 0.0

    x, y = size(xres) * factor, size(yres) * factor
    z = float(ij.get("spacing", 0.0)) * factor if "spacing" in ij else x
    return (z, y, x)


# decoded / stored bytes a page may claim: bits packed into bytes (8), deflate
# (about 1032), LZW and PackBits stay below 2000; other codecs are given room.
_MAX_RATIO = {1: 8.0, 5: 2000.0, 8: 2000.0, 32946: 2000.0, 32773: 2000.0}
_OTHER_RATIO = 1e5


def _check_page(page: Any, file_size: int, path: Path) -> None:
    """Refuse a page whose data lie outside the file or cannot hold what it declares.

    A corrupt tag (a width of 60000 px, an offset past the end) would
    otherwise make :mod:`tifffile` allocate the declared image, or fill the
    missing part with zeros, before failing.
    """
    offsets = [int(o) for o in page.dataoffsets]
    counts = [int(c) for c in page.databytecounts]
    if any(o < 0 or c < 0 or o + c > file_size for o, c in zip(offsets, counts)):
        raise InputError(f"{path}: not a readable TIFF (image data past the end of the file)")
    stored = sum(counts)
    ratio = _MAX_RATIO.get(int(page.keyframe.compression), _OTHER_RATIO)
    if int(page.keyframe.bitspersample) < 8:
        ratio *= 8.0
    if page.nbytes > max(stored, 1) * ratio:
        raise InputError(
            f"{path}: not a readable TIFF (truncated or corrupt: a page declares "
            f"{page.nbytes} bytes of pixels but holds {stored} bytes of data)"
        )


class TiffReader(VolumeReader):
    """A multi-page TIFF stack, or a folder of single-slice TIFFs (natural sort order)."""

    def __init__(self, path: str | Path) -> None:
        import tifffile

        self.path = Path(path)
        self._files: list[Path] = []
        self._tif: Any = None
        try:
            if self.path.is_dir():
                from natsort import natsorted

                files = [
                    p for p in self.path.iterdir() if p.suffix.lower() in (".tif", ".tiff")
                ]
                if not files:
                    raise InputError(f"{self.path}: folder holds no .tif files")
                self._files = natsorted(files, key=lambda p: p.name)
                with tifffile.TiffFile(self._files[0]) as tif:
                    first = tif.asarray()
                    spacing = _spacing_from_page(tif)
                if first.ndim != 2:
                    raise InputError(f"{self._files[0]}: expected a single 2D slice per file")
                shape = (len(self._files), *first.shape)
                dtype = first.dtype
            else:
                self._tif = tifffile.TiffFile(self.path)
                series = self._tif.series[0]
                shape = tuple(int(s) for s in series.shape)
                dtype = series.dtype
                spacing = _spacing_from_page(self._tif)
                if len(shape) == 2:
                    shape = (1, *shape)
                self._pages_per_slice = len(series.pages) == shape[0]
        except InputError:
            raise
        except Exception as exc:
            msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            raise InputError(f"{self.path}: not a readable TIFF ({msg})") from None
        if len(shape) != 3:
            raise InputError(f"{self.path}: expected a 3D stack (Z,Y,X), got shape {shape}")
        check_data(np.empty((0, 0, 0), dtype=dtype), path=self.path)
        self.shape = (int(shape[0]), int(shape[1]), int(shape[2]))
        self.dtype = np.dtype(dtype)
        self.voxel_size = spacing
        if spacing is None:
            log.warning("%s: no physical pixel size in the TIFF tags", self.path)
        self.origin = (0.0, 0.0, 0.0)
        self.metadata: dict[str, Any] = {"format": "tiff", "path": str(self.path)}
        self._cache: np.ndarray | None = None

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        stop = self.shape[0] if stop is None else min(stop, self.shape[0])
        try:
            block = self._read(range(start, stop))
        except InputError:
            raise
        except Exception as exc:  # whatever corrupt strips do to tifffile and its codecs
            msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            raise InputError(f"{self.path}: not a readable TIFF ({msg})") from None
        other_type = block.dtype.newbyteorder("=") != self.dtype.newbyteorder("=")
        if block.shape[1:] != self.shape[1:] or other_type:
            raise InputError(
                f"{self.path}: not a readable TIFF (slices {start}-{stop - 1} are "
                f"{block.shape[1:]} {block.dtype}, the stack is {self.shape[1:]} {self.dtype})"
            )
        return block

    def _read(self, idx: range) -> np.ndarray:
        import tifffile

        empty = np.empty((0, *self.shape[1:]), self.dtype)
        if self._files:
            out = []
            for i in idx:
                with tifffile.TiffFile(self._files[i]) as tif:
                    _check_page(tif.pages[0], tif.filehandle.size, self._files[i])
                    out.append(tif.asarray())
            return np.stack(out) if out else empty
        size = self._tif.filehandle.size
        series = self._tif.series[0]
        if self._pages_per_slice:
            out = []
            for i in idx:
                _check_page(series.pages[i], size, self.path)
                out.append(series.pages[i].asarray())
            return np.stack(out).reshape(len(out), *self.shape[1:]) if out else empty
        if self._cache is None:  # one page holds the whole volume
            for page in series.pages:
                _check_page(page, size, self.path)
            offset = series.dataoffset
            if offset is not None and int(offset) + int(series.nbytes) > size:
                raise InputError(
                    f"{self.path}: not a readable TIFF (truncated: the stack declares "
                    f"{series.nbytes} bytes from byte {offset}; the file holds {size})"
                )
            self._cache = series.asarray().reshape(self.shape)
        return np.array(self._cache[idx.start : idx.stop])

    def close(self) -> None:
        if self._tif is not None:
            self._tif.close()


class TiffWriter(VolumeWriter):
    """Streaming ImageJ-hyperstack writer (memory-mapped, uncompressed, nm spacing)."""

    def __init__(
        self, path: str | Path, shape: tuple[int, int, int], dtype: Any, **kw: Any
    ) -> None:
        import tifffile

        super().__init__(Path(path), shape, np.dtype(dtype), **kw)
        stored = self.dtype if self.dtype.name in _IMAGEJ_DTYPES else np.dtype("float32")
        if self.dtype in (np.dtype("bool"), np.dtype("int8")):
            stored = np.dtype("uint8") if self.dtype == np.bool_ else np.dtype("float32")
        self._stored = stored
        meta: dict[str, Any] = {"axes": "ZYX"}
        resolution = None
        if self.voxel_size is not None:
            z, y, x = self.voxel_size
            meta.update(unit="nm", spacing=z)
            resolution = (1.0 / x, 1.0 / y)
        self._mm: np.memmap | None = None
        try:
            self._mm = tifffile.memmap(
                self.tmp,
                shape=self.shape,
                dtype=stored,
                imagej=True,
                resolution=resolution,
                metadata=meta,
            )
            reserve_file(self.tmp)  # a full disk fails here, not as SIGBUS in a write
        except OSError as exc:
            self._mm = None
            raise self._creation_failed(exc) from None

    def write(self, start: int, block: np.ndarray) -> None:
        block = self._check_block(start, block)
        mm = self._mm
        if mm is None:
            raise RuntimeError(f"{self.path}: the writer is closed")
        mm[start : start + block.shape[0]] = block.astype(self._stored, copy=False)

    def _finish(self) -> None:
        if self._mm is not None:
            self._mm.flush()
            del self._mm
            self._mm = None
