"""A memory-mapped read of one slice touches only that slice's bytes (measured)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import mrcfile
import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")


def test_one_slice_read_touches_one_slice(tmp_path: Path) -> None:
    nz, ny, nx = 64, 1024, 1024  # 256 MiB of float32, one slice = 4 MiB
    path = tmp_path / "big.mrc"
    with mrcfile.new_mmap(path, (nz, ny, nx), mrc_mode=2) as mrc:
        mrc.data[:] = 1.0  # real bytes on disk, not a sparse file
        mrc.voxel_size = 98.0
    # Drop the file's pages from the page cache where the kernel lets us, and measure
    # in a fresh process how much of the file becomes resident in its address space.
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
    script = textwrap.dedent(
        f"""
        import numpy as np
        from sxtseg.io import open_volume

        def rss_file():
            for line in open("/proc/self/status"):
                if line.startswith("RssFile:"):
                    return int(line.split()[1]) * 1024
            return 0

        with open_volume({str(path)!r}) as reader:
            before = rss_file()
            s = reader[40]
            after = rss_file()
            assert s.shape == ({ny}, {nx}) and float(s.mean()) == 1.0
        print(after - before)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    grown = int(out.strip().splitlines()[-1])
    slice_bytes = ny * nx * 4
    assert grown >= slice_bytes * 0.9  # the slice itself was mapped in ...
    assert grown < 2 * slice_bytes  # ... and not much more (whole file: 64 slices)
