"""Each bad input gives one clear line and exit status 2 at the CLI, never a traceback."""

from __future__ import annotations

from pathlib import Path

import mrcfile
import numpy as np
import pytest
import tifffile

from sxtseg.cli import main


def _png(path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.imsave(path.with_suffix(".png"), np.zeros((8, 8)))
    path.with_suffix(".png").rename(path)
    return path


def _truncated(path: Path) -> Path:
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.zeros((8, 16, 16), np.float32))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _corrupt_header(path: Path) -> Path:
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.zeros((4, 8, 8), np.float32))
    raw = bytearray(path.read_bytes())
    raw[12:16] = (99).to_bytes(4, "little")  # mode 99 does not exist
    raw[208:212] = b"XXXX"  # and the map ID is gone
    path.write_bytes(bytes(raw))
    return path


def _complex(path: Path) -> Path:
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.zeros((2, 4, 4), np.complex64))
    return path


def _nan(path: Path) -> Path:
    data = np.zeros((3, 8, 8), np.float32)
    data[1, 2, 2:5] = np.nan
    data[2, 0, 0] = np.inf
    with mrcfile.new(path) as mrc:
        mrc.set_data(data)
        mrc.voxel_size = 100.0
    return path


def _four_axes(path: Path) -> Path:
    tifffile.imwrite(path, np.zeros((2, 3, 8, 8), np.uint8), photometric="minisblack")
    return path


CASES = {
    "missing": (lambda p: p.parent / "nope.mrc", "no such file"),
    "empty": (lambda p: (p.with_suffix(".mrc").write_bytes(b""), p.with_suffix(".mrc"))[1],
              "empty"),
    "truncated": (lambda p: _truncated(p.with_suffix(".mrc")), "not a readable MRC"),
    "corrupt header": (lambda p: _corrupt_header(p.with_suffix(".mrc")), "not a readable MRC"),
    "text as mrc": (lambda p: (p.with_suffix(".rec").write_text("hello tomogram\n" * 100),
                               p.with_suffix(".rec"))[1], "not a readable MRC"),
    "png as tif": (lambda p: _png(p.with_suffix(".tif")), "TIFF"),
    "unsupported dtype": (lambda p: _complex(p.with_suffix(".mrc")), "data type"),
    "nan": (lambda p: _nan(p.with_suffix(".mrc")), "4 NaN/Inf"),
    "four axes": (lambda p: _four_axes(p.with_suffix(".tif")), "3D"),
    "unknown extension": (lambda p: (p.with_suffix(".xyz").write_text("x"),
                                     p.with_suffix(".xyz"))[1], "unknown file extension"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exit_2_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    make, expected = CASES[case]
    path = make(tmp_path / "input")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    command = (
        ["convert", str(path), str(out_dir / "x.mrc")] if case == "nan" else ["info", str(path)]
    )
    rc = main(command)
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("sxtseg: error")]
    assert rc == 2, err
    assert len(errors) == 1, err
    assert expected in errors[0], errors[0]
    assert "Traceback" not in "\n".join(err)
    assert not (out_dir / "x.mrc").exists()


def test_info_reports_nan_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _nan(tmp_path / "n.mrc")
    assert main(["info", str(path)]) == 0
    assert "4 NaN/Inf" in capsys.readouterr().out


def test_single_image_reads_as_one_slice(tmp_path: Path) -> None:
    from sxtseg.io import read_volume

    path = tmp_path / "one.tif"
    tifffile.imwrite(path, np.ones((10, 12), np.uint16))
    assert read_volume(path).shape == (1, 10, 12)
