"""Round trips through every format with real files written by the real libraries."""

from __future__ import annotations

import itertools
from pathlib import Path

import mrcfile
import numpy as np
import pytest
import tifffile

from sxtseg.io import (
    create_writer,
    open_volume,
    read_tilt_angles,
    read_volume,
    write_tilt_angles,
    write_volume,
)
from sxtseg.io.convert import convert_volume
from sxtseg.types import Volume

EXTS = [".mrc", ".tif", ".zarr", ".h5"]
SPACING = (12.5, 9.8, 9.7)
ORIGIN = (100.0, -50.0, 20.0)


def _data(dtype: str, shape: tuple[int, int, int] = (6, 37, 29)) -> np.ndarray:
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind == "f":
        return rng.normal(0, 3, shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -1000), min(info.max, 1000), shape).astype(dtype)


@pytest.mark.parametrize("ext", EXTS)
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
def test_round_trip_values_dtype_spacing(tmp_path: Path, ext: str, dtype: str) -> None:
    data = _data(dtype)
    path = tmp_path / f"vol{ext}"
    write_volume(path, Volume(data, SPACING, ORIGIN))
    back = read_volume(path)
    assert back.dtype == data.dtype
    np.testing.assert_array_equal(back.data, data)
    assert back.voxel_size == pytest.approx(SPACING, rel=1e-6)
    if ext in (".mrc", ".h5", ".zarr"):  # ImageJ TIFF has no origin
        assert back.origin == pytest.approx(ORIGIN, rel=1e-6)


@pytest.mark.parametrize("dtype,mode", [("int8", 0), ("int16", 1), ("float32", 2),
                                        ("uint16", 6), ("float16", 12), ("uint8", 0)])
def test_mrc_modes(tmp_path: Path, dtype: str, mode: int) -> None:
    data = _data(dtype, (3, 8, 9)) if dtype != "uint8" else np.full((3, 8, 9), 200, np.uint8)
    path = tmp_path / "m.mrc"
    write_volume(path, Volume(data, (10.0, 10.0, 10.0)))
    with mrcfile.open(path, permissive=True) as mrc:
        assert int(mrc.header.mode) == mode
        assert mrc.voxel_size.x == pytest.approx(100.0)  # Å on disk
    back = read_volume(path)
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back.data, data)


def test_mrc_unknown_voxel_size_is_none(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "nohdr.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.zeros((4, 5, 6), np.float32))  # mrcfile leaves voxel size 0
    vol = read_volume(path)
    assert vol.voxel_size is None
    assert "unknown" in caplog.text
    vol = read_volume(path, voxel_size=9.8)
    assert vol.voxel_size == (9.8, 9.8, 9.8)


@pytest.mark.parametrize("src_ext,dst_ext", list(itertools.permutations(EXTS, 2)))
def test_convert_every_pair(tmp_path: Path, src_ext: str, dst_ext: str) -> None:
    data = _data("float32", (5, 33, 40))
    src = tmp_path / f"a{src_ext}"
    write_volume(src, Volume(data, SPACING))
    dst = convert_volume(src, tmp_path / f"b{dst_ext}")
    back = read_volume(dst)
    np.testing.assert_array_equal(back.data, data)
    assert back.voxel_size == pytest.approx(SPACING, rel=1e-6)


def test_imagej_spacing_read_by_tifffile(tmp_path: Path) -> None:
    path = tmp_path / "stack.tif"
    write_volume(path, Volume(np.zeros((4, 16, 16), np.uint8), (20.0, 9.8, 9.8)))
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej
        ij = tif.imagej_metadata
        assert ij["unit"] == "nm"
        assert ij["spacing"] == pytest.approx(20.0)
        assert ij["images"] == 4
        num, den = tif.pages[0].tags["XResolution"].value
        assert den / num == pytest.approx(9.8, rel=1e-5)


def test_tiff_folder_natural_sort(tmp_path: Path) -> None:
    folder = tmp_path / "slices"
    folder.mkdir()
    for i in (0, 1, 2, 10, 11):  # natural order 0,1,2,10,11 (not 0,1,10,11,2)
        tifffile.imwrite(folder / f"slice_{i}.tif", np.full((7, 9), i, np.uint16))
    with open_volume(folder) as reader:
        assert reader.shape == (5, 7, 9)
        assert [int(reader[z][0, 0]) for z in range(5)] == [0, 1, 2, 10, 11]


def test_hdf5_dataset_path(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "two.h5"
    with h5py.File(path, "w") as h5:
        h5["raw/volume"] = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
        h5["labels"] = np.zeros((2, 3, 4), np.uint8)
        h5["raw/volume"].attrs["element_size_um"] = (0.01, 0.0098, 0.0098)
    vol = read_volume(f"{path}:/raw/volume")
    assert vol.voxel_size == pytest.approx((10.0, 9.8, 9.8))
    assert vol.data[1, 2, 3] == 23


def test_streaming_writer_is_atomic(tmp_path: Path) -> None:
    for ext in EXTS:
        path = tmp_path / f"partial{ext}"
        with pytest.raises(RuntimeError), create_writer(
            path, (4, 8, 8), np.float32, voxel_size=(10.0, 10.0, 10.0)
        ) as writer:
            writer.write(0, np.ones((2, 8, 8), np.float32))
            raise RuntimeError("interrupted")
        assert not path.exists()
        assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())


def test_refuses_overwrite(tmp_path: Path) -> None:
    from sxtseg.errors import InputError

    path = tmp_path / "a.mrc"
    vol = Volume(np.zeros((2, 4, 4), np.float32), (10.0, 10.0, 10.0))
    write_volume(path, vol)
    with pytest.raises(InputError, match="--overwrite"):
        write_volume(path, vol)
    write_volume(path, vol, overwrite=True)


def test_tilt_angles(tmp_path: Path) -> None:
    angles = np.arange(-65, 66, 1.0)
    path = write_tilt_angles(tmp_path / "t.tlt", angles)
    np.testing.assert_allclose(read_tilt_angles(path), angles)


def test_real_emdb_maps_read() -> None:
    data_dir = Path(__file__).parents[1] / "data"
    vol = read_volume(data_dir / "EMD-3197.map")
    assert vol.shape == (20, 20, 20)
    assert vol.voxel_size == pytest.approx((1.14, 1.14, 1.14), rel=1e-3)
    with open_volume(data_dir / "EMD-3001.map") as reader:
        assert reader.shape == (25, 43, 73)
        assert reader[3].shape == (43, 73)


def test_mrc_same_data_same_bytes(tmp_path: Path) -> None:
    vol = Volume(np.arange(60, dtype=np.float32).reshape(3, 4, 5), (9.8, 9.8, 9.8),
                 metadata={"labels": ["absorption, 1/um"]})  # fmt: skip
    a = write_volume(tmp_path / "a.mrc", vol)
    import time

    time.sleep(1.1)
    b = write_volume(tmp_path / "b.mrc", vol)
    assert a.read_bytes() == b.read_bytes()
    with mrcfile.open(a) as mrc:
        labels = [bytes(lbl).decode().strip() for lbl in mrc.header.label[: mrc.header.nlabl]]
    assert labels[0].startswith("sxtseg") and "absorption, 1/um" in labels


@pytest.mark.parametrize("ext", EXTS)
def test_release_pages_mid_stream_keeps_data(tmp_path: Path, ext: str) -> None:
    data = _data("float32", (6, 64, 64))
    path = tmp_path / f"r{ext}"
    with create_writer(path, data.shape, data.dtype, voxel_size=SPACING) as writer:
        for z in range(0, 6, 2):
            writer.write(z, data[z : z + 2])
            writer.release_pages()  # unmaps what was written (MRC); a no-op elsewhere
    np.testing.assert_array_equal(read_volume(path).data, data)
