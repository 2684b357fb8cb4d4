"""MRC2014 volumes (``.mrc .rec .st .ali .map``) through :mod:`mrcfile`.

Reads are memory-mapped, so one slice of a tomogram larger than RAM costs one
slice of I/O. Voxel size and origin are stored in Å in the header and carried
here in nm. A header voxel size of 0 or 1 Å is the default of many writers and
counts as unknown.

uint8 masks are written as mode 0 with IMOD's "unsigned bytes" convention
(imodStamp set, signed flag clear) and read back as uint8.
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.errors import InputError
from sxtseg.io.base import VolumeReader, VolumeWriter, check_data, release_mapped_pages
from sxtseg.io.files import reserve_file
from sxtseg.types import Spacing

__all__ = ["MRC_SUFFIXES", "MrcReader", "MrcWriter", "check_header"]

log = logging.getLogger(__name__)

MRC_SUFFIXES = (".mrc", ".rec", ".st", ".ali", ".map")
_IMOD_STAMP = 1146047817
# numpy dtype -> (MRC mode, dtype stored on disk)
_MODES: dict[str, tuple[int, str]] = {
    "int8": (0, "int8"),
    "uint8": (0, "int8"),
    "int16": (1, "int16"),
    "float32": (2, "float32"),
    "uint16": (6, "uint16"),
    "float16": (12, "float16"),
}
_UNKNOWN_ANGSTROM = (0.0, 1.0)
_HEADER_BYTES = 1024


def _unknown_size(angstrom: float) -> bool:
    """A header voxel size that says nothing: 0 or 1 Å (writers' defaults), <= 0, NaN, Inf."""
    return angstrom in _UNKNOWN_ANGSTROM or not np.isfinite(angstrom) or angstrom <= 0


def check_header(path: Path) -> None:
    """Check an MRC header against the file before anything is mapped or allocated.

    Dimensions must be positive, the mode known, the extended header and the
    data the header declares must fit in the file. Runs on the raw 1024
    bytes, so a corrupt header never reaches :mod:`mrcfile` or a memory map
    (a negative dimension, 10^12 declared voxels, a 2 GB extended header).

    Raises
    ------
    InputError
        With what is wrong, in one line.
    """
    from mrcfile.dtypes import HEADER_DTYPE
    from mrcfile.utils import byte_order_from_machine_stamp, dtype_from_mode

    size = path.stat().st_size
    with open(path, "rb") as fh:
        raw = fh.read(_HEADER_BYTES)
    bad = f"{path}: not a readable MRC file"
    if len(raw) < _HEADER_BYTES:
        raise InputError(f"{bad} ({size} bytes, shorter than the {_HEADER_BYTES}-byte header)")
    hdr = np.frombuffer(raw, dtype=HEADER_DTYPE)[0]
    if bytes(hdr["map"])[:3] != b"MAP":
        raise InputError(f"{bad} (no 'MAP' identifier at byte 208)")
    try:
        order = byte_order_from_machine_stamp(hdr["machst"])
    except ValueError as exc:
        raise InputError(f"{bad} ({exc})") from None
    hdr = np.frombuffer(raw, dtype=HEADER_DTYPE.newbyteorder(order))[0]
    nx, ny, nz = (int(hdr[k]) for k in ("nx", "ny", "nz"))
    mode, nsymbt, ispg = int(hdr["mode"]), int(hdr["nsymbt"]), int(hdr["ispg"])
    if min(nx, ny, nz) <= 0:
        raise InputError(f"{bad} (header dimensions nx={nx} ny={ny} nz={nz}; each must be >= 1)")
    try:
        itemsize = dtype_from_mode(mode).itemsize
    except ValueError:
        raise InputError(f"{bad} (unknown data mode {mode})") from None
    if nsymbt < 0:
        raise InputError(f"{bad} (negative extended header size {nsymbt})")
    if 401 <= ispg <= 630:
        raise InputError(f"{path}: an MRC volume stack (space group {ispg}), not one volume")
    need = _HEADER_BYTES + nsymbt + nx * ny * nz * itemsize
    if need > size:
        raise InputError(
            f"{bad} (truncated or corrupt: the header declares {nz} x {ny} x {nx} voxels "
            f"of mode {mode}, {need} bytes with the headers; the file holds {size})"
        )


def _imod_words(hdr: Any) -> tuple[int, int]:
    """IMOD's stamp and flags: header words 39-40, inside mrcfile's ``extra2`` field."""
    raw = np.frombuffer(bytes(hdr.extra2), dtype=np.uint8)
    order = hdr.mode.dtype.byteorder
    words = raw[40:48].view(order + "i4" if order in "<>" else "i4")
    return int(words[0]), int(words[1])


def _set_imod_unsigned(hdr: Any) -> None:
    """Mark mode-0 bytes as unsigned the way IMOD does (stamp set, bit 0 of flags clear)."""
    raw = bytearray(bytes(hdr.extra2))
    order = sys.byteorder  # native order, like the header numpy maps
    raw[40:44] = _IMOD_STAMP.to_bytes(4, order, signed=True)
    flags = int.from_bytes(raw[44:48], order, signed=True) & ~1
    raw[44:48] = flags.to_bytes(4, order, signed=True)
    hdr.extra2 = bytes(raw)


def _mode_for(dtype: np.dtype) -> tuple[int, np.dtype]:
    name = np.dtype(dtype).name
    if name in _MODES:
        mode, stored = _MODES[name]
        return mode, np.dtype(stored)
    if np.dtype(dtype).kind in "biuf":
        # float64, int32, uint32, bool...: float32 holds integers exactly up to 2**24
        return 2, np.dtype("float32")
    raise InputError(f"cannot write data type {dtype} to MRC")


class MrcReader(VolumeReader):
    """Memory-mapped MRC reader; see the module docstring."""

    def __init__(self, path: str | Path) -> None:
        import mrcfile

        self.path = Path(path)
        check_header(self.path)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._mrc = mrcfile.mmap(str(self.path), mode="r")
        except Exception as exc:  # whatever a foreign header does to mrcfile
            msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            raise InputError(f"{self.path}: not a readable MRC file ({msg})") from None
        data = self._mrc.data
        if data is None:
            raise InputError(f"{self.path}: MRC file holds no data")
        hdr = self._mrc.header
        stamp, flags = _imod_words(hdr)
        unsigned = int(hdr.mode) == 0 and stamp == _IMOD_STAMP and not (flags & 1)
        if unsigned:
            data = data.view(np.uint8)
        data = check_data(data, path=self.path)
        self._data = data
        self.shape = (int(data.shape[0]), int(data.shape[1]), int(data.shape[2]))
        self.dtype = data.dtype
        vs = self._mrc.voxel_size
        ang = (float(vs.z), float(vs.y), float(vs.x))
        if self.shape[0] == 1 and _unknown_size(ang[0]) and not _unknown_size(ang[2]):
            ang = (ang[2], ang[1], ang[2])  # a single image: z spacing is moot, take x
        if any(_unknown_size(a) for a in ang):
            log.warning("%s: header voxel size %s Å counts as unknown", self.path, ang)
            self.voxel_size: Spacing | None = None
        else:
            self.voxel_size = (ang[0] / 10.0, ang[1] / 10.0, ang[2] / 10.0)
        org = hdr.origin
        self.origin = (float(org.z) / 10.0, float(org.y) / 10.0, float(org.x) / 10.0)
        labels = [
            bytes(lbl).decode("ascii", "replace").strip()
            for lbl in hdr.label[: int(hdr.nlabl)]
        ]
        self.metadata: dict[str, Any] = {
            "format": "mrc",
            "path": str(self.path),
            "mrc_mode": int(hdr.mode),
            "labels": labels,
            "header_voxel_size_angstrom": ang,
        }
        ext = self._mrc.extended_header
        if ext is not None and len(ext):
            self.metadata["extended_header"] = np.asarray(ext).tobytes()
            self.metadata["exttyp"] = bytes(hdr.exttyp).decode("ascii", "replace")

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        return np.array(self._data[start:stop])

    @property
    def lazy(self) -> Any:
        return self._data

    def close(self) -> None:
        self._mrc.close()


class MrcWriter(VolumeWriter):
    """Streaming MRC writer (memory-mapped temporary file, renamed on close)."""

    def __init__(
        self, path: str | Path, shape: tuple[int, int, int], dtype: Any, **kw: Any
    ) -> None:
        import mrcfile

        super().__init__(Path(path), shape, np.dtype(dtype), **kw)
        mode, self._stored = _mode_for(self.dtype)
        ext = self.metadata.get("extended_header")
        ext_arr = np.frombuffer(ext, dtype=np.uint8) if isinstance(ext, bytes) else None
        self._mrc = None
        try:
            self._mrc = mrcfile.new_mmap(
                str(self.tmp), self.shape, mrc_mode=mode, overwrite=True, extended_header=ext_arr
            )
            reserve_file(self.tmp)  # a full disk fails here, not as SIGBUS in a write
        except OSError as exc:
            if self._mrc is not None:
                self._mrc.close()
                self._mrc = None
            raise self._creation_failed(exc) from None
        hdr = self._mrc.header
        if ext_arr is not None and "exttyp" in self.metadata:
            hdr.exttyp = self.metadata["exttyp"].encode("ascii")[:4]
        if self.dtype == np.uint8:
            _set_imod_unsigned(hdr)
        if self.voxel_size is not None:
            z, y, x = self.voxel_size
            self._mrc.voxel_size = (x * 10.0, y * 10.0, z * 10.0)
        oz, oy, ox = self.origin
        hdr.origin.x, hdr.origin.y, hdr.origin.z = ox * 10.0, oy * 10.0, oz * 10.0
        # mrcfile stamps a "Created by mrcfile.py <time>" label: replace it with ours,
        # without a time, so the same data gives byte-identical files.
        hdr.nlabl = 0
        hdr.label[:] = b""
        from sxtseg._version import __version__

        labels = [lbl for lbl in self.metadata.get("labels", []) if lbl][:9]
        if not any(str(lbl).startswith("sxtseg") for lbl in labels):
            labels = [f"sxtseg {__version__}", *labels][:10]
        for label in labels:
            self._mrc.add_label(str(label)[:80])
        self._lo, self._hi = np.inf, -np.inf
        self._sum, self._count = 0.0, 0

    def write(self, start: int, block: np.ndarray) -> None:
        block = self._check_block(start, block)
        stored = block.view(np.int8) if self.dtype == np.uint8 else block.astype(self._stored)
        mrc = self._mrc
        if mrc is None:
            raise RuntimeError(f"{self.path}: the writer is closed")
        mrc.data[start : start + block.shape[0]] = stored
        if block.size:
            b = block.astype(np.float64, copy=False)
            self._lo = min(self._lo, float(b.min()))
            self._hi = max(self._hi, float(b.max()))
            self._sum += float(b.sum())
            self._count += b.size

    def release_pages(self) -> None:
        if self._mrc is not None:
            release_mapped_pages(self._mrc.data)

    def _finish(self) -> None:
        if self._mrc is None:
            return
        hdr = self._mrc.header
        if self._count:
            hdr.dmin, hdr.dmax, hdr.dmean = self._lo, self._hi, self._sum / self._count
        hdr.rms = -1.0
        self._mrc.flush()
        self._mrc.close()
        self._mrc = None
