"""`sxtseg surfaces` and `sxtseg measure` on real MRC files, in-process."""

import json

import numpy as np
import pandas as pd
import pytest
import trimesh

from sxtseg.cli import main
from sxtseg.io import read_volume, write_volume
from sxtseg.types import Volume

SP = (10.0, 8.0, 8.0)


def _shells():
    """Two outlined spheres (membranes), one solid blob, and their filled truth."""
    shape = (40, 60, 120)
    z, y, x = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, SP)], indexing="ij")

    def ball(c, r):
        return (z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= r * r

    a, b = ball((200, 240, 160), 130), ball((200, 240, 480), 110)
    blob = ball((200, 240, 780), 100)
    # membranes 16 nm thick centred on the spheres
    membranes = (ball((200, 240, 160), 138) & ~ball((200, 240, 160), 122)) | blob
    membranes |= ball((200, 240, 480), 118) & ~ball((200, 240, 480), 102)
    truth = np.zeros(shape, np.uint16)
    truth[a], truth[b], truth[blob] = 1, 2, 3
    return membranes.astype(np.uint8), truth


@pytest.fixture
def files(tmp_path):
    membranes, truth = _shells()
    m = tmp_path / "membranes.mrc"
    t = tmp_path / "instances.mrc"
    write_volume(m, Volume(membranes, SP, (0.0, 0.0, 0.0)))
    write_volume(t, Volume(truth, SP, (0.0, 0.0, 0.0)))
    return m, t, truth


def test_measure_mask_and_instances(files, tmp_path, capsys):
    mask, inst, truth = files
    table = tmp_path / "objects.csv"
    assert (
        main(
            [
                "measure",
                str(mask),
                "-o",
                str(table),
                "--write-instances",
                str(tmp_path / "labels.mrc"),
            ]
        )
        == 0
    )
    assert "3 objects" in capsys.readouterr().out
    df = pd.read_csv(table)
    for col in (
        "id",
        "voxels",
        "volume_nm3",
        "surface_nm2",
        "surface_to_volume_per_um",
        "centroid_z_nm",
        "centroid_y_nm",
        "centroid_x_nm",
        "axis_major_nm",
        "axis_second_nm",
        "axis_minor_nm",
        "feret_max_nm",
        "touches_border",
    ):
        assert col in df.columns
    want = sorted(np.bincount(truth.ravel())[1:] * np.prod(SP))
    assert sorted(df.volume_nm3) == pytest.approx(want, rel=0.02)
    labels = read_volume(tmp_path / "labels.mrc")
    assert labels.dtype == np.uint16 and labels.voxel_size == pytest.approx(SP)

    t2 = tmp_path / "truth.csv"
    assert main(["measure", str(inst), "--instances", "-o", str(t2), "--min-volume", "5e6"]) == 0
    df2 = pd.read_csv(t2)
    assert list(df2.id) == [1, 2]  # the blob (~2.7e5 nm³) is dropped, ids kept
    assert main(["measure", str(inst), "--instances", "-o", str(t2)]) == 2  # exists
    assert "exists" in capsys.readouterr().err


def test_surfaces_on_mask_and_instances(files, tmp_path):
    mask, inst, _ = files
    out = tmp_path / "surf"
    assert (
        main(["surfaces", str(mask), "-o", str(out), "--formats", "ply,glb", "--faces", "2000"])
        == 0
    )
    scene = trimesh.load(out / "scene.glb")
    assert len(scene.geometry) == 3
    assert (out / "scene.png").is_file() and (out / "slices.png").is_file()
    assert len(list((out / "objects").glob("*.ply"))) == 3
    info = json.loads((out / "surfaces.json").read_text())
    assert info["vertex_columns"] == ["x_nm", "y_nm", "z_nm"]
    labels = read_volume(out / "instances.mrc")
    assert labels.data.max() == 3
    manifest = pd.read_csv(out / "surfaces.csv")
    assert manifest.faces.max() <= 2000 and manifest.watertight.all()

    out2 = tmp_path / "surf2"
    assert (
        main(
            [
                "surfaces",
                str(inst),
                "--instances",
                "-o",
                str(out2),
                "--formats",
                "stl",
                "--no-preview",
                "--tomogram",
                str(mask),
            ]
        )
        == 0
    )
    assert not (out2 / "instances.mrc").exists()
    assert sorted(p.name for p in (out2 / "objects").iterdir()) == [
        "object_00001.stl",
        "object_00002.stl",
        "object_00003.stl",
    ]
    assert main(["surfaces", str(inst), "--instances", "-o", str(out2)]) == 2  # not empty
    assert main(["surfaces", str(inst), "--instances", "-o", str(out2), "--overwrite"]) == 0


def test_bad_input_exits_2(tmp_path, capsys):
    mask = tmp_path / "nosize.mrc"
    write_volume(mask, Volume(np.ones((3, 4, 5), np.uint8), None))
    assert main(["measure", str(mask), "-o", str(tmp_path / "t.csv")]) == 2
    assert "--voxel-size" in capsys.readouterr().err
    assert main(["measure", str(mask), "-o", str(tmp_path / "t.csv"), "--voxel-size", "9.8"]) == 0
    assert (
        main(
            [
                "surfaces",
                str(mask),
                "-o",
                str(tmp_path / "s"),
                "--voxel-size",
                "9.8",
                "--formats",
                "fbx",
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "surfaces",
                str(mask),
                "-o",
                str(tmp_path / "s"),
                "--voxel-size",
                "9.8",
                "--connectivity",
                "8",
            ]
        )
        == 2
    )
    assert main(["measure", str(tmp_path / "missing.mrc"), "-o", str(tmp_path / "u.csv")]) == 2


def test_empty_mask_gives_empty_outputs(tmp_path, capsys):
    mask = tmp_path / "empty.mrc"
    write_volume(mask, Volume(np.zeros((4, 6, 8), np.uint8), SP))
    assert main(["surfaces", str(mask), "-o", str(tmp_path / "s")]) == 0
    assert "0 objects" in capsys.readouterr().out
    assert not (tmp_path / "s" / "scene.glb").exists()
    assert (tmp_path / "s" / "surfaces.csv").is_file()
    assert main(["measure", str(mask), "-o", str(tmp_path / "t.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "t.csv")) == 0


def test_measure_instances_with_protrusions(tmp_path):
    sp = (10.0, 10.0, 10.0)
    z, y, x = np.meshgrid(*[np.arange(n) * 10.0 for n in (50, 80, 110)], indexing="ij")
    body = (z - 250) ** 2 + (y - 400) ** 2 + (x - 350) ** 2 <= 240**2
    tube = ((y - 400) ** 2 + (z - 250) ** 2 <= 65**2) & (x > 350) & (x < 1000)
    inst = np.where(body | tube, 5, 0).astype(np.uint16)
    path = tmp_path / "cell.mrc"
    write_volume(path, Volume(inst, sp))
    out = tmp_path / "t.csv"
    assert main(["measure", str(path), "--instances", "-o", str(out), "--protrusions", "110"]) == 0
    table = pd.read_csv(out)
    assert list(table.id) == [5, 6]
    filo = table.set_index("id").loc[6]
    assert filo.tube_diameter_nm == pytest.approx(130, rel=0.1)
    assert filo.section_axis_first_mean_nm > 300  # sections along the tube
