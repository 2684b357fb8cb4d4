"""`sxtseg simulate`: the files, their headers, reproducibility, datasets, profiles."""

import numpy as np
import pandas as pd
import pytest

from sxtseg.cli import main
from sxtseg.io import read_tilt_angles, read_volume
from sxtseg.simulate import simulate, simulate_dataset, write_simulation

SHAPE = "24,48,64"


def _bytes(path):
    """File bytes, with mrcfile's 'Created by mrcfile.py <time>' header label blanked."""
    raw = bytearray(path.read_bytes())
    if path.suffix == ".mrc" and raw[224:245] == b"Created by mrcfile.py":
        raw[224:304] = b" " * 80
    return bytes(raw)


FILES = [
    "tomogram.mrc",
    "membranes.mrc",
    "flat.mrc",
    "instances.mrc",
    "objects.csv",
    "tilt_angles.tlt",
    "simulation.json",
    "preview_xy.png",
    "preview_xz.png",
]


def test_cli_writes_all_files_with_voxel_size_and_polarity(tmp_path, capsys):
    out = tmp_path / "sim"
    assert (
        main(["simulate", str(out), "--profile", "bessy-u41", "--shape", SHAPE, "--seed", "1"]) == 0
    )
    for name in FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    tomo = read_volume(out / "tomogram.mrc")
    mem = read_volume(out / "membranes.mrc")
    inst = read_volume(out / "instances.mrc")
    for vol in (tomo, mem, inst):
        assert vol.shape == (24, 48, 64)
        np.testing.assert_allclose(vol.voxel_size, (9.8, 9.8, 9.8), rtol=1e-5)
    assert tomo.dtype == np.float32 and mem.dtype == np.uint8 and inst.dtype == np.uint16
    assert set(np.unique(mem.data)) <= {0, 1} and mem.data.any()
    assert any("dense = high" in str(lab) for lab in tomo.metadata.get("labels", []))
    # absorption values in 1/um: ice ~0.11, cell material above it
    assert 0.0 < float(np.median(tomo.data)) < 1.0
    table = pd.read_csv(out / "objects.csv")
    for col in ("id", "kind", "volume_nm3", "surface_nm2", "diameter_nm", "length_nm"):
        assert col in table
    assert set(np.unique(inst.data)) - {0} <= set(table["id"])
    assert len(read_tilt_angles(out / "tilt_angles.tlt")) == 131
    # refuses to overwrite without --overwrite (exit 2, one line)
    assert main(["simulate", str(out), "--shape", SHAPE, "--seed", "1"]) == 2
    assert "overwrite" in capsys.readouterr().err


def test_same_seed_identical_files_other_seed_differs(tmp_path):
    a, b, c = (
        simulate("alba-mistral", shape=(16, 32, 48), seed=s, recipe="yeast") for s in (7, 7, 8)
    )
    for sim, name in ((a, "a"), (b, "b"), (c, "c")):
        write_simulation(sim, tmp_path / name, previews=False)
    for f in ("tomogram.mrc", "membranes.mrc", "flat.mrc", "instances.mrc", "objects.csv"):
        assert _bytes(tmp_path / "a" / f) == _bytes(tmp_path / "b" / f), f
    assert _bytes(tmp_path / "a" / "tomogram.mrc") != _bytes(tmp_path / "c" / "tomogram.mrc")
    assert a.tomogram.voxel_size == (13.0, 13.0, 13.0)


def test_count_writes_reproducible_subfolders(tmp_path):
    d1 = simulate_dataset(
        tmp_path / "d1", profile="diamond-b24", shape=(16, 32, 32), seed=3, count=2
    )
    assert [p.name for p in d1] == ["000", "001"]
    assert (
        main(
            [
                "simulate",
                str(tmp_path / "d2"),
                "--profile",
                "diamond-b24",
                "--shape",
                "16,32,32",
                "--seed",
                "3",
                "--count",
                "2",
            ]
        )
        == 0
    )
    for sub in ("000", "001"):
        for f in ("tomogram.mrc", "membranes.mrc", "objects.csv"):
            assert _bytes(tmp_path / "d1" / sub / f) == _bytes(tmp_path / "d2" / sub / f)
    first, second = (_bytes(tmp_path / "d1" / s / "tomogram.mrc") for s in ("000", "001"))
    assert first != second


def test_custom_yaml_profile_and_bad_input(tmp_path, capsys):
    yml = tmp_path / "mybeam.yaml"
    yml.write_text(
        "energy_ev: 520\nzone_plate_nm: 30\nvoxel_size_nm: 12\n"
        "tilt_min_deg: -55\ntilt_max_deg: 55\ntilt_step_deg: 2\ndose_photons: 4000\n"
    )
    out = tmp_path / "custom"
    assert (
        main(
            [
                "simulate",
                str(out),
                "--profile",
                str(yml),
                "--shape",
                "16,32,32",
                "--recipe",
                "perinuclear",
            ]
        )
        == 0
    )
    assert read_volume(out / "tomogram.mrc").voxel_size == pytest.approx((12.0, 12.0, 12.0))
    assert len(read_tilt_angles(out / "tilt_angles.tlt")) == 56
    assert main(["simulate", str(tmp_path / "x"), "--profile", "nosuch"]) == 2
    assert main(["simulate", str(tmp_path / "x"), "--recipe", "nosuch"]) == 2
    assert main(["simulate", str(tmp_path / "x"), "--shape", "2,3"]) == 2
    err = capsys.readouterr().err
    assert "unknown profile" in err and "unknown recipe" in err
