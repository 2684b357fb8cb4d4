"""The whole job (`sxtseg run`) and the demo on a small simulated tomogram."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import trimesh

from sxtseg.cli import main
from sxtseg.io import read_volume
from sxtseg.simulate import simulate, write_simulation


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "tomo"
    sim = simulate("bessy-u41", shape=(16, 96, 96), seed=11, recipe="yeast")
    write_simulation(sim, out, previews=False)
    return out


def test_run_writes_everything_with_voxel_size(
    sim_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "res"
    # objects whatever the model finds: every component of the mask (threshold 0.5) is one
    config = tmp_path / "run.yaml"
    config.write_text("objects:\n  mode: filled\n")
    rc = main(["run", str(sim_dir / "tomogram.mrc"), "-o", str(out), "--threshold", "0.5",
               "--min-volume", "0", "--device", "cpu", "--config", str(config)])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["voxel_size_nm"] == pytest.approx([9.8, 9.8, 9.8])
    assert set(summary["stages"]) == {"segment", "objects", "surfaces", "measure", "previews"}
    assert all(s["seconds"] >= 0 and not s["skipped"] for s in summary["stages"].values())
    assert "torch" in summary["versions"]
    for name in ("mask.mrc", "probabilities.mrc", "instances.mrc"):
        vol = read_volume(out / name)
        assert vol.shape == (16, 96, 96)
        assert vol.voxel_size == pytest.approx((9.8, 9.8, 9.8), rel=1e-5)
    mask = read_volume(out / "mask.mrc").data
    prob = read_volume(out / "probabilities.mrc").data.astype(np.float32)
    assert set(np.unique(mask)) <= {0, 1}
    assert np.all((prob >= 0.5) >= (mask > 0))  # the mask never exceeds the threshold set
    table = pd.read_csv(out / "objects.csv")
    n_objects = summary["stages"]["objects"]["objects"]
    assert n_objects >= 5 and len(table) == n_objects
    for col in ("id", "voxels", "volume_nm3", "surface_nm2", "surface_to_volume_per_um",
                "centroid_z_nm", "axis_major_nm", "feret_max_nm", "touches_border"):  # fmt: skip
        assert col in table.columns
    assert (out / "preview_slices.png").stat().st_size > 0
    scene = trimesh.load(out / "surfaces" / "scene.glb")
    bounds = np.asarray(scene.bounds)  # vertices in nm: within the tomogram's extent
    assert bounds.min() >= -9.8 and bounds.max() <= 96 * 9.8 + 9.8
    assert bounds[1, 0] - bounds[0, 0] > 10 * 9.8  # and they span more than a few voxels
    meshes = sorted((out / "surfaces").rglob("object_*.ply"))
    assert len(meshes) == n_objects
    mesh = trimesh.load(meshes[0])
    row = table.set_index("id").loc[int(meshes[0].stem.split("_")[1])]
    assert mesh.area == pytest.approx(row.surface_nm2, rel=0.05)  # the table measures the mesh


def test_rerun_skips_done_stages_and_force_reruns(sim_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "res"
    args = ["run", str(sim_dir / "tomogram.mrc"), "-o", str(out), "--device", "cpu",
            "--no-previews"]  # fmt: skip
    assert main(args) == 0
    first = json.loads((out / "summary.json").read_text())
    mtime = (out / "mask.mrc").stat().st_mtime_ns
    assert main(args) == 0
    second = json.loads((out / "summary.json").read_text())
    assert all(s["skipped"] for s in second["stages"].values())
    assert (out / "mask.mrc").stat().st_mtime_ns == mtime
    assert second["stages"]["segment"]["fingerprint"] == first["stages"]["segment"]["fingerprint"]
    # a changed setting reruns the stage it touches and those downstream of changed files
    assert main([*args, "--threshold", "0.3"]) == 0
    third = json.loads((out / "summary.json").read_text())
    assert not third["stages"]["segment"]["skipped"]
    assert main([*args, "--force"]) == 0
    fourth = json.loads((out / "summary.json").read_text())
    assert not any(s["skipped"] for s in fourth["stages"].values())


def test_run_bad_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.mrc"
    bad.write_text("not a tomogram")
    assert main(["run", str(bad), "-o", str(tmp_path / "out")]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert main(["run", str(bad), "-o", str(tmp_path / "o2"), "--format", "png"]) == 2


def test_run_other_output_format(sim_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "res"
    assert main(["run", str(sim_dir / "tomogram.mrc"), "-o", str(out), "--format", "zarr",
                 "--device", "cpu", "--no-previews", "--formats", "ply"]) == 0  # fmt: skip
    vol = read_volume(out / "mask.zarr")
    assert vol.voxel_size == pytest.approx((9.8, 9.8, 9.8))


def test_demo_prints_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    rc = main(["demo", str(out), "--shape", "16,96,96", "--device", "cpu"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "boundary F1" in text and "F1" in text
    scores = json.loads((out / "scores.json").read_text())
    for key in ("f1", "precision", "recall", "iou", "boundary_f1"):
        assert 0.0 <= scores["mask"][key] <= 1.0
    assert (out / "simulated" / "membranes.mrc").exists()
    assert (out / "results" / "objects.csv").exists()
    assert main(["demo", str(out), "--shape", "16,96,96"]) == 2  # exists: needs --overwrite
