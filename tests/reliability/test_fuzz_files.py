"""Generated broken MRC and TIFF files through ``info``, ``segment`` and ``run``.

Every case must end in success or in one clear line with exit status 2:
never a traceback, an internal error, a hang, a huge allocation, a partial
output file or a changed input (see :meth:`fuzz_cases.Outcome.problems`).
The cases are drawn by hypothesis with ``derandomize=True``, so ``make test``
runs the same 100 + 30 cases every time; ``benchmarks/fuzz_files.py`` runs
1,000. The cases that found bugs are kept below as regressions.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from fuzz_cases import Case, build_file, cases, command_for, run_case
from hypothesis import HealthCheck, given, settings

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=60),  # generous: a loaded 2-core machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Cases that broke the contract before the fixes in sxtseg.io (exit status 1
# with an internal error, or an allocation of the declared size), and three
# neighbours that held already ("mrc negative nz", "mrc huge dimensions",
# "mrc negative voxel size", which now counts as unknown).
REGRESSIONS = {
    # a negative nx: "internal error: OverflowError: memory mapped length must be positive"
    "mrc negative dimension": Case(
        "mrc", "uint8", (4, 5, 16), "inf", -0.0,
        (("overwrite", 2.220446049250313e-16, b"\xde\xb6\xa2\xfe"), ("int", "nversion", 1)),
        "info", 10435),
    "mrc negative nz": Case("mrc", "float32", (4, 8, 8), "noise", 10.0,
                            (("int", "nz", -1),), "segment"),
    # ny = 0: "internal error: ValueError: slice shape must be positive"
    "mrc zero dimension": Case("mrc", "float32", (4, 8, 8), "noise", 10.0,
                               (("int", "ny", 0),), "segment"),
    # a volume stack with mz = 0: "internal error: ZeroDivisionError"
    "mrc volume stack": Case("mrc", "int16", (4, 8, 8), "noise", 10.0,
                             (("int", "ispg", 401), ("int", "mz", 0)), "info"),
    # a 2 GB extended header: read (and allocated) before failing, 9 s
    "mrc huge extended header": Case("mrc", "float32", (2, 8, 8), "noise", 10.0,
                                     (("int", "nsymbt", 2**31 - 1),), "info"),
    "mrc huge dimensions": Case("mrc", "float32", (2, 8, 8), "noise", 10.0,
                                (("int", "nx", 10**4), ("int", "ny", 10**4),
                                 ("int", "nz", 10**4)), "run"),
    "mrc negative voxel size": Case("mrc", "float32", (2, 16, 16), "noise", -5.0, (), "run"),
    # "internal error: TiffFileError: corrupted tile ... cannot be reshaped"
    "tiff truncated tiles": Case("tif", "tiled", (4, 22, 8), "noise", 10.0,
                                 (("truncate", 0.14768443570071746),), "info", 53372),
    # "internal error: ValueError: 255 is not a known COMPRESSION"
    "tiff unknown compression": Case("tif", "zlib", (1, 16, 16), "inf", 3e38,
                                     (("tag", 259, 255),), "info", 707),
    # "internal error: ValueError: failed to read 336 bytes, got 94"
    "tiff truncated imagej": Case("tif", "imagej", (4, 12, 7), "inf", -0.0,
                                  (("truncate", 0.21168494651981967),), "segment", 9272),
    # "internal error: ValueError: cannot reshape array of size 0 into shape (1,1,20)"
    "tiff bad sample format": Case("tif", "tiled", (2, 1, 20), "inf", float("inf"),
                                   (("tag", 339, 2**31), ("truncate", 0.30168234575970093)),
                                   "run", 6970),
    # 60000 x 60000 px declared in a 4 KB file: 14 GB allocated per slice (OOM)
    "tiff huge tiled page": Case("tif", "tiled", (4, 16, 16), "noise", 10.0,
                                 (("tag", 256, 60000), ("tag", 257, 60000)), "info"),
    "tiff huge strip page": Case("tif", "zlib", (4, 16, 16), "noise", 10.0,
                                 (("tag", 256, 60000), ("tag", 257, 60000)), "segment"),
}  # fmt: skip


def _check(case: Case) -> None:
    with tempfile.TemporaryDirectory(prefix="sxtseg-fuzz-") as tmp:
        outcome = run_case(case, Path(tmp))
    assert not outcome.problems(), (outcome.problems(), case, outcome.stderr[-2000:])


@settings(FUZZ, max_examples=100)
@given(cases(commands=("info",)))
def test_info_on_generated_files(case: Case) -> None:
    _check(case)


@settings(FUZZ, max_examples=30)
@given(cases(commands=("segment", "run")))
def test_segment_and_run_on_generated_files(case: Case) -> None:
    _check(case)


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_cases_that_found_bugs(name: str) -> None:
    case = REGRESSIONS[name]
    with tempfile.TemporaryDirectory(prefix="sxtseg-fuzz-") as tmp:
        outcome = run_case(case, Path(tmp))
    assert not outcome.problems(), (outcome.problems(), outcome.stderr[-2000:])
    assert outcome.rc == 2, outcome.stderr


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    two_gb = 2 << 30
    resource.setrlimit(resource.RLIMIT_AS, (two_gb, two_gb))


@pytest.mark.parametrize(
    "name",
    ["mrc negative dimension", "tiff huge tiled page", "mrc huge dimensions",
     "tiff huge strip page"],
)  # fmt: skip
def test_in_a_subprocess_no_traceback_and_no_big_allocation(name: str, tmp_path: Path) -> None:
    """The real process: stderr is one line, and ``info`` runs under a 2 GB address-space cap."""
    case = REGRESSIONS[name]
    path = build_file(case, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    args = command_for(case, path, out)
    info = case.command == "info"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    env.pop("SXTSEG_DEBUG", None)
    code = "import sys; from sxtseg.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
        env=env, preexec_fn=_limit_memory if info else None,
    )  # fmt: skip
    errors = [line for line in proc.stderr.splitlines() if line.startswith("sxtseg: ")]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert len(errors) == 1 and errors[0].startswith("sxtseg: error: "), proc.stderr
    assert not [p for p in out.rglob("*") if p.is_file()], "outputs of a failed command"
