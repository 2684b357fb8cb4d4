"""Surfaces made once, measured as delivered: `sxtseg measure --surfaces`, read_surface_folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import trimesh

from sxtseg.cli import main
from sxtseg.io import write_volume
from sxtseg.mesh import read_surface_folder
from sxtseg.types import Volume

SP = (10.0, 8.0, 8.0)


def _instances() -> np.ndarray:
    z, y, x = np.ogrid[:24, :40, :80]
    labels = np.zeros((24, 40, 80), np.uint16)
    labels[(z - 12) ** 2 + (y - 20) ** 2 + (x - 18) ** 2 <= 64] = 1
    labels[((z - 12) ** 2 + (y - 20) ** 2 + (x - 55) ** 2 <= 144) & (x < 62)] = 4
    return labels


def test_measure_reads_the_surfaces_folder(tmp_path: Path) -> None:
    inst = tmp_path / "instances.mrc"
    write_volume(inst, Volume(_instances(), SP))
    surf = tmp_path / "surfaces"
    assert main(["surfaces", str(inst), "--instances", "-o", str(surf), "--formats", "obj,stl",
                 "--smooth", "2", "--no-preview"]) == 0  # fmt: skip
    meshes = read_surface_folder(surf)
    assert [m.id for m in meshes] == [1, 4]
    table = tmp_path / "objects.csv"
    # measurement smoothing differs from the meshes': the table still holds the meshes' areas
    assert main(["measure", str(inst), "--instances", "-o", str(table), "--surfaces", str(surf),
                 "--smooth", "30"]) == 0  # fmt: skip
    rows = pd.read_csv(table)
    for m, row in zip(meshes, rows.itertuples(), strict=True):
        on_disk = trimesh.load(surf / "objects" / f"object_{m.id:05d}.stl", force="mesh")
        assert row.surface_nm2 == pytest.approx(on_disk.area, rel=1e-5)
        assert row.surface_nm2 == pytest.approx(m.area_nm2, rel=1e-5)
        assert row.mesh_watertight
    remeshed = tmp_path / "remeshed.csv"
    assert main(["measure", str(inst), "--instances", "-o", str(remeshed), "--smooth", "30"]) == 0
    assert not np.allclose(pd.read_csv(remeshed)["surface_nm2"], rows["surface_nm2"], rtol=1e-3)


def test_measure_refuses_surfaces_of_other_objects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = _instances()
    inst, other = tmp_path / "a.mrc", tmp_path / "b.mrc"
    write_volume(inst, Volume(labels, SP))
    write_volume(other, Volume(np.where(labels == 4, 0, labels).astype(np.uint16), SP))
    surf = tmp_path / "s"
    assert main(["surfaces", str(other), "--instances", "-o", str(surf), "--formats", "ply",
                 "--no-preview"]) == 0  # fmt: skip
    capsys.readouterr()
    code = main(["measure", str(inst), "--instances", "-o", str(tmp_path / "t.csv"),
                 "--surfaces", str(surf)])  # fmt: skip
    assert code == 2
    assert "not the 2 objects" in capsys.readouterr().err
    assert not (tmp_path / "t.csv").exists()
    assert main(["measure", str(inst), "--instances", "-o", str(tmp_path / "t.csv"),
                 "--surfaces", str(tmp_path)]) == 2  # fmt: skip
