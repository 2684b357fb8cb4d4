"""Generated broken MRC and TIFF files, and one CLI command run on each.

Shared by ``tests/reliability/test_fuzz_files.py`` (a fixed set of cases in
``make test``) and ``benchmarks/fuzz_files.py`` (the full 1,000).

A :class:`Case` is plain data: a format, a base volume (dtype, shape,
content, header voxel size), a list of mutations of the written bytes
(header fields, TIFF tags, truncation, appended or overwritten bytes) and the
command to run on the result. :func:`cases` is the hypothesis strategy;
:func:`run_case` writes the file, runs ``sxtseg.cli.main`` in-process and
returns an :class:`Outcome` whose :meth:`Outcome.problems` lists every way
the run broke the contract (exit status 0 or 2 with one clear line, no
traceback, no partial output, input untouched, bounded time and memory).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import resource
import signal
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mrcfile
import numpy as np
import tifffile
from hypothesis import strategies as st

__all__ = ["Case", "Outcome", "build_file", "cases", "command_for", "run_case"]

# MRC header fields: name -> (byte offset, struct code)
MRC_INT_FIELDS = {
    "nx": 0, "ny": 4, "nz": 8, "mode": 12, "nxstart": 16, "mx": 28, "my": 32, "mz": 36,
    "mapc": 64, "mapr": 68, "maps": 72, "ispg": 88, "nsymbt": 92, "nversion": 108,
    "nlabl": 220,
}  # fmt: skip
MRC_FLOAT_FIELDS = {"cella_x": 40, "cella_y": 44, "cella_z": 48, "dmin": 76, "dmax": 80,
                    "origin_x": 196, "origin_z": 204, "rms": 216}  # fmt: skip
INTERESTING_INTS = [
    -(2**31), -(2**16), -1024, -5, -1, 0, 1, 2, 3, 4, 6, 12, 16, 101, 255, 401,
    1024, 2**16, 10**4, 10**6, 2**31 - 1,
]  # fmt: skip
INTERESTING_FLOATS = [0.0, -0.0, -1.0, 1.0, 1e-38, 1e-30, 3e38, -3e38,
                      float("nan"), float("inf"), float("-inf")]  # fmt: skip
# TIFF tags worth breaking: geometry, sample layout, strip and tile tables
TIFF_TAGS = [256, 257, 258, 259, 262, 273, 277, 278, 279, 282, 284, 322, 323, 324, 325, 339]
TIFF_KINDS = ("plain", "imagej", "zlib", "tiled")
MRC_KINDS = ("float32", "int16", "uint16", "int8", "uint8", "float16")
CONTENTS = ("noise", "const", "nan", "inf", "extreme")
COMMANDS = ("info", "segment", "run")
#: a case may take this long before it counts as a hang
CASE_SECONDS = 120
#: growth of the peak resident set a case may cause (the declared 10^12 voxels would not fit)
RSS_BUDGET_MB = 1500


@dataclass(frozen=True)
class Case:
    """One generated file and the command run on it (plain data, printable as a regression)."""

    fmt: str
    kind: str
    shape: tuple[int, int, int]
    content: str
    voxel_nm: float
    mutations: tuple[tuple[Any, ...], ...]
    command: str = "info"
    seed: int = 0


@dataclass
class Outcome:
    """What running a case did."""

    case: Case
    rc: int | str
    stderr: str
    seconds: float
    leftovers: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    input_changed: bool = False
    rss_growth_mb: float = 0.0

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("sxtseg: ")]

    def problems(self) -> list[str]:
        """Every broken promise; empty when the run kept the contract."""
        out = []
        if self.rc not in (0, 2):
            out.append(f"exit status {self.rc}")
        if "Traceback" in self.stderr:
            out.append("traceback on stderr")
        if self.rc == 2 and len(self.error_lines()) != 1:
            out.append(f"{len(self.error_lines())} error lines")
        if self.leftovers:
            out.append(f"partial files left: {self.leftovers}")
        if self.rc == 2 and self.case.command == "segment" and self.outputs:
            out.append(f"outputs written although it failed: {self.outputs}")
        if self.input_changed:
            out.append("input file changed")
        if self.seconds > CASE_SECONDS:
            out.append(f"took {self.seconds:.0f} s")
        if self.rss_growth_mb > RSS_BUDGET_MB:
            out.append(f"peak memory grew by {self.rss_growth_mb:.0f} MB")
        return out


# ---------------------------------------------------------------- strategies

_mrc_mutation = st.one_of(
    st.tuples(st.just("int"), st.sampled_from(sorted(MRC_INT_FIELDS)),
              st.one_of(st.sampled_from(INTERESTING_INTS),
                        st.integers(-(2**31), 2**31 - 1))),
    st.tuples(st.just("float"), st.sampled_from(sorted(MRC_FLOAT_FIELDS)),
              st.sampled_from(INTERESTING_FLOATS)),
    st.tuples(st.just("machst"), st.sampled_from([b"\x44\x44\x00\x00", b"\x11\x11\x00\x00",
                                                 b"\x00\x00\x00\x00", b"\x44\x41\x00\x00"])),
    st.tuples(st.just("map_id"), st.sampled_from([b"MAP ", b"MAP\x00", b"PAM ", b"\x00" * 4])),
)  # fmt: skip
_tiff_mutation = st.one_of(
    st.tuples(st.just("tag"), st.sampled_from(TIFF_TAGS),
              st.one_of(st.sampled_from([0, 1, 2, 3, 5, 7, 8, 16, 32, 64, 255, 60000, 2**31]),
                        st.integers(0, 2**32 - 1))),
    st.tuples(st.just("ifd"), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("byteorder"), st.sampled_from([b"II", b"MM", b"XX"])),
    st.tuples(st.just("description"), st.sampled_from([
        "ImageJ=1.11a\nimages=1000000\nslices=1000000\n",
        "ImageJ=1.11a\nimages=0\nslices=0\n",
        "ImageJ=1.11a\nimages=-4\nslices=4\nunit=nm\nspacing=nan\n",
        "ImageJ=1.11a\nimages=4\nslices=4\nchannels=3\nframes=7\n",
        "ImageJ=1.11a\nunit=micron\nspacing=-0.5\n",
        "garbage \xff\x00 text",
    ])),
)  # fmt: skip
_any_mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 1.0)),
    st.tuples(st.just("append"), st.integers(1, 4096)),
    st.tuples(st.just("overwrite"), st.floats(0.0, 1.0), st.binary(min_size=1, max_size=16)),
)


@st.composite
def cases(draw: Any, *, commands: tuple[str, ...] = COMMANDS,
          weights: tuple[int, ...] = (7, 2, 1)) -> Case:  # fmt: skip
    """A broken (or, now and then, intact) file and the command to run on it."""
    fmt = draw(st.sampled_from(["mrc", "tif"]))
    kind = draw(st.sampled_from(MRC_KINDS if fmt == "mrc" else TIFF_KINDS))
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 24)), draw(st.integers(1, 24)))
    content = draw(st.sampled_from(CONTENTS))
    voxel = draw(st.one_of(st.just(10.0), st.sampled_from(INTERESTING_FLOATS),
                           st.floats(0.01, 100.0)))  # fmt: skip
    specific = _mrc_mutation if fmt == "mrc" else _tiff_mutation
    mutations = tuple(draw(st.lists(st.one_of(specific, specific, _any_mutation), max_size=3)))
    pool = [c for c, w in zip(COMMANDS, weights) if c in commands for _ in range(w)]
    command = draw(st.sampled_from(pool))
    seed = draw(st.integers(0, 2**16))
    return Case(fmt, kind, shape, content, voxel, mutations, command, seed)


# ---------------------------------------------------------------- files


def _data(case: Case, dtype: np.dtype) -> np.ndarray:
    rng = np.random.default_rng(case.seed)
    if case.content == "const":
        data = np.full(case.shape, 3, dtype=np.float64)
    else:
        data = rng.random(case.shape) * 100
    if dtype.kind == "f":
        flat = data.reshape(-1)
        n = max(1, flat.size // 50)
        if case.content == "nan":
            flat[rng.integers(0, flat.size, n)] = np.nan
        elif case.content == "inf":
            flat[rng.integers(0, flat.size, n)] = np.inf
        elif case.content == "extreme":
            flat[::2] = np.finfo(dtype).max
            flat[1::2] = np.finfo(dtype).min
    elif case.content == "extreme":
        info = np.iinfo(dtype)
        data.reshape(-1)[::2] = info.max
        data.reshape(-1)[1::2] = info.min
    with np.errstate(invalid="ignore", over="ignore"):
        return data.astype(dtype)


def _write_mrc(case: Case, path: Path) -> bytearray:
    dtype = np.dtype(case.kind)
    data = _data(case, dtype)
    if dtype == np.uint8:  # mrcfile has no unsigned bytes: IMOD's mode 0 via our writer
        from sxtseg.io import write_volume
        from sxtseg.types import Volume

        write_volume(path, Volume(data, None), overwrite=True)
        raw = bytearray(path.read_bytes())
    else:
        with mrcfile.new(path, overwrite=True) as mrc:
            mrc.set_data(data)
        raw = bytearray(path.read_bytes())
    nz, ny, nx = case.shape
    for off, n in ((40, nx), (44, ny), (48, nz)):  # cell = voxel size (Å) x samples
        with np.errstate(over="ignore"):
            cell = np.float32(case.voxel_nm * 10.0 * n)
        raw[off : off + 4] = struct.pack("<f", cell)
    for name, value in (m[1:] for m in case.mutations if m[0] == "int"):
        raw[MRC_INT_FIELDS[name] : MRC_INT_FIELDS[name] + 4] = struct.pack("<i", value)
    for name, value in (m[1:] for m in case.mutations if m[0] == "float"):
        raw[MRC_FLOAT_FIELDS[name] : MRC_FLOAT_FIELDS[name] + 4] = struct.pack("<f", value)
    for kind, value in (m for m in case.mutations if m[0] in ("machst", "map_id")):
        off = 212 if kind == "machst" else 208
        raw[off : off + 4] = value
    return raw


def _write_tiff(case: Case, path: Path) -> bytearray:
    v = case.voxel_nm
    good = bool(np.isfinite(v) and 1e-3 <= v <= 1e6)  # what a TIFF rational can hold
    if case.kind == "imagej":
        dtype = np.dtype("float32")
        meta = {"axes": "ZYX", "unit": "nm", "spacing": v}
        tifffile.imwrite(path, _data(case, dtype), imagej=True, metadata=meta,
                         resolution=(1 / v, 1 / v) if good else None)  # fmt: skip
    else:
        dtype = np.dtype("uint16" if case.kind in ("plain", "zlib") else "float32")
        kw: dict[str, Any] = {"photometric": "minisblack"}
        if case.kind == "zlib":
            kw["compression"] = "zlib"
        if case.kind == "tiled":
            kw["tile"] = (16, 16)
        if good:
            kw.update(resolution=(1e7 / v, 1e7 / v), resolutionunit="CENTIMETER")
        tifffile.imwrite(path, _data(case, dtype), **kw)
    raw = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        order = tif.byteorder
        page = tif.pages[0]
        where = {int(t.code): (int(t.valueoffset), int(t.dtype)) for t in page.tags.values()}
    for mutation in case.mutations:
        if mutation[0] == "tag" and mutation[1] in where:
            off, dt = where[mutation[1]]
            code = {3: "H", 4: "I", 16: "Q"}.get(dt, "I")
            size = struct.calcsize(code)
            raw[off : off + size] = struct.pack(order + code, mutation[2] % (1 << (8 * size)))
        elif mutation[0] == "ifd":
            raw[4:8] = struct.pack(order + "I", mutation[1])
        elif mutation[0] == "byteorder":
            raw[0:2] = mutation[1]
        elif mutation[0] == "description" and 270 in where:
            off, _ = where[270]
            text = mutation[1].encode("latin-1")
            raw[off : off + len(text)] = text
    return raw


def build_file(case: Case, folder: Path) -> Path:
    """Write the case's file into ``folder`` and return its path."""
    path = folder / ("input.mrc" if case.fmt == "mrc" else "input.tif")
    raw = _write_mrc(case, path) if case.fmt == "mrc" else _write_tiff(case, path)
    for mutation in case.mutations:
        if mutation[0] == "truncate":
            raw = raw[: int(len(raw) * mutation[1])]
        elif mutation[0] == "append":
            raw += bytes(np.random.default_rng(case.seed).integers(0, 256, mutation[1], np.uint8))
        elif mutation[0] == "overwrite" and raw:
            off = min(len(raw) - 1, int(len(raw) * mutation[1]))
            raw[off : off + len(mutation[2])] = mutation[2]
    path.write_bytes(bytes(raw))
    return path


# ---------------------------------------------------------------- running


def command_for(case: Case, path: Path, out: Path) -> list[str]:
    """The ``sxtseg`` arguments of the case (tiny volumes, one CPU thread)."""
    if case.command == "info":
        return ["info", str(path)]
    if case.command == "segment":
        prob = str(out / "prob.mrc")
        return ["segment", str(path), "-o", str(out / "mask.mrc"), "--probabilities", prob,
                "--device", "cpu", "--threads", "1"]  # fmt: skip
    args = ["run", str(path), "-o", str(out / "res"), "--device", "cpu", "--no-previews",
            "--formats", "ply"]  # fmt: skip
    return [*args, "--voxel-size", "10"] if case.seed % 2 else args


class Hang(BaseException):
    """A case ran past :data:`CASE_SECONDS` (BaseException: the CLI does not swallow it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_case(case: Case, folder: Path) -> Outcome:
    """Write the case's file in ``folder``, run its command in-process, return what happened."""
    from sxtseg.cli import main

    folder.mkdir(parents=True, exist_ok=True)
    path = build_file(case, folder)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    out = folder / "out"
    out.mkdir()
    err = io.StringIO()
    rss0 = _peak_rss_mb()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS + 30)
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc: int | str = main(command_for(case, path, out))
    except Hang:
        rc = "hang"
    except BaseException as exc:  # SystemExit and the like escaping main
        rc = f"raised {exc.__class__.__name__}: {exc}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    seconds = time.perf_counter() - t0
    files = [p for p in out.rglob("*")]
    leftovers = [str(p.relative_to(out)) for p in files
                 if p.name.endswith(".part") or p.name.startswith(".sxtseg-scratch")]  # fmt: skip
    outputs = [str(p.relative_to(out)) for p in files if p.is_file()]
    return Outcome(
        case=case, rc=rc, stderr=err.getvalue(), seconds=seconds, leftovers=leftovers,
        outputs=outputs, input_changed=hashlib.sha256(path.read_bytes()).hexdigest() != digest,
        rss_growth_mb=_peak_rss_mb() - rss0,
    )  # fmt: skip
