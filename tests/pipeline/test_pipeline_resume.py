"""`sxtseg run`: options checked first, fingerprints, completeness, measured meshes = delivered."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import trimesh

from sxtseg.cli import main
from sxtseg.errors import InputError
from sxtseg.infer.config import SegmentConfig
from sxtseg.io import write_volume
from sxtseg.mesh import MeshConfig
from sxtseg.morphometry import MeasureConfig, ObjectsConfig
from sxtseg.pipeline import RunConfig, run_config_from, run_is_complete
from sxtseg.postprocess.config import PostprocessConfig
from sxtseg.stages import RUNTIME_ONLY, canonical, fingerprint, model_identity, stage_settings
from sxtseg.types import Volume

VS = (9.8, 9.8, 9.8)
SHAPE = (24, 64, 64)


@pytest.fixture(scope="module")
def tomo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two shells in noise, 24 x 64 x 64 voxels of 9.8 nm."""
    z, y, x = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    img = np.zeros(SHAPE, np.float32)
    for cz, cy, cx, r in ((12, 20, 20, 9), (12, 44, 42, 11)):
        img += np.abs(np.sqrt((z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2) - r) < 1.5
    img += np.random.default_rng(0).normal(0, 0.3, SHAPE).astype(np.float32)
    path = tmp_path_factory.mktemp("tomo") / "tomogram.mrc"
    write_volume(path, Volume(img, VS))
    return path


def _settings(cfg: RunConfig) -> dict:
    ident = model_identity(cfg.model)
    return stage_settings(cfg, identity=ident, threshold=0.5, spacing=VS)


def test_fingerprint_normalises_numbers_and_ignores_runtime_settings() -> None:
    assert set(RUNTIME_ONLY) <= set(SegmentConfig.__dataclass_fields__)
    assert canonical({"a": 1.0, "b": (2, 2.5), "c": True}) == {"a": 1, "b": [2, 2.5], "c": True}
    assert fingerprint({"a": 1, "b": (1, 2)}) == fingerprint({"a": 1.0, "b": [1.0, 2.0]})
    assert fingerprint({"a": 1}) != fingerprint({"a": 1.5})
    assert fingerprint({"a": True}) != fingerprint({"a": 1})
    base = _settings(RunConfig())
    runtime = SegmentConfig(device="cpu", batch_size=3, num_threads=1, prefetch=4,
                            memory_fraction=0.2, max_cpu_memory_mb=512, scratch_dir="/tmp",
                            channels_last=False, compile=True)  # fmt: skip
    assert _settings(RunConfig(segment=runtime)) == base
    ints = RunConfig(postprocess=PostprocessConfig(min_volume_nm3=200000),
                     mesh=MeshConfig(smooth_iterations=15.0))  # type: ignore[arg-type]  # fmt: skip
    assert fingerprint(_settings(ints)) == fingerprint(base)
    assert fingerprint(base["segment"]) == fingerprint(
        _settings(RunConfig(segment=SegmentConfig(device="cuda:1")))["segment"]
    )
    changed = {
        "segment": RunConfig(segment=SegmentConfig(tta=True)),
        "objects": RunConfig(objects=ObjectsConfig(split=False)),
        "surfaces": RunConfig(mesh=MeshConfig(smooth_iterations=3)),
        "measure": RunConfig(measure=MeasureConfig(feret=False)),
    }
    for stage, cfg in changed.items():
        other = _settings(cfg)
        assert [k for k in base if base[k] != other[k]] == [stage]


def test_every_option_is_checked_before_any_stage(
    tomo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "res"
    base = ["run", str(tomo), "-o", str(out), "--device", "cpu"]
    capsys.readouterr()
    assert main([*base, "--formats", "ply,xyz"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "xyz" in err and "Traceback" not in err
    assert not out.exists()
    bad = tmp_path / "bad.yaml"
    for text in ("mesh: {smooth_iterations: -5}", "measure: {smooth_iterations: x}",
                 "objects: {mode: nonsense}", "mesh: 3"):  # fmt: skip
        bad.write_text(text + "\n")
        assert main([*base, "--config", str(bad)]) == 2, text
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "internal error" not in err, err
    assert main([*base, "--model", str(tmp_path / "no-model")]) == 2
    assert not out.exists()
    with pytest.raises(InputError):
        RunConfig(formats=("ply", "vrml"))
    with pytest.raises(InputError):
        RunConfig(ext=".png")
    assert RunConfig(formats="GLB, ply").formats == ("glb", "ply")  # type: ignore[arg-type]


def _spheres() -> np.ndarray:
    z, y, x = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    mask = np.zeros(SHAPE, np.uint8)
    for cz, cy, cx, r in ((12, 16, 16, 5), (12, 44, 20, 7), (11, 30, 46, 9)):
        mask[(z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 <= r * r] = 1
    return mask


def test_table_measures_the_delivered_meshes_and_resume(tomo: Path, tmp_path: Path) -> None:
    out = tmp_path / "res"
    yaml = tmp_path / "run.yaml"
    # different smoothing for meshes and measurements: the table must still match the files
    yaml.write_text("mesh: {smooth_iterations: 3}\nmeasure: {smooth_iterations: 25}\n")
    args = ["run", str(tomo), "-o", str(out), "--device", "cpu", "--batch-size", "2",
            "--threshold", "0.5", "--min-volume", "0", "--no-previews", "--formats",
            "ply,stl,glb", "--config", str(yaml)]  # fmt: skip
    assert main(args) == 0
    # objects made from a known mask: replace the mask; its downstream stages run again
    write_volume(out / "mask.mrc", Volume(_spheres(), VS), overwrite=True)
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    stages = summary["stages"]
    assert stages["segment"]["skipped"]
    assert not any(stages[s]["skipped"] for s in ("objects", "surfaces", "measure"))
    table = pd.read_csv(out / "objects.csv")
    assert len(table) == 3 == stages["objects"]["objects"]
    for row in table.itertuples():
        for fmt in ("ply", "stl", "glb"):
            mesh = trimesh.load(out / "surfaces" / "objects" / f"object_{row.id:05d}.{fmt}",
                                force="mesh")  # fmt: skip
            assert mesh.area == pytest.approx(row.surface_nm2, rel=1e-5), fmt
            assert mesh.volume == pytest.approx(row.mesh_volume_nm3, rel=1e-5), fmt
    manifest = pd.read_csv(out / "surfaces" / "surfaces.csv")
    assert np.allclose(manifest["surface_nm2"], table["surface_nm2"], rtol=1e-5)

    # a rerun on another device with another batch size does nothing
    other = run_config_from(yaml, device="auto", batch_size=7, threshold=0.5, min_volume=0.0,
                            formats="ply,stl,glb", previews=False)  # fmt: skip
    assert run_is_complete(out, tomo, other)
    assert main([*args[:5], "auto", "--batch-size", "7", *args[8:]]) == 0
    assert all(s["skipped"] for s in json.loads((out / "summary.json").read_text())["stages"]
               .values())  # fmt: skip
    assert not run_is_complete(out, tomo, run_config_from(yaml, threshold=0.4, min_volume=0.0,
                               formats="ply,stl,glb", previews=False))  # fmt: skip
    assert not run_is_complete(out, tomo, other, voxel_size=10.0)
    assert not run_is_complete(tmp_path / "nothing", tomo, other)
    assert not run_is_complete(out, tmp_path / "missing.mrc", other)
    (out / "objects.csv").unlink()
    assert not run_is_complete(out, tomo, other)


def test_batch_skips_complete_runs_without_a_cluster(tomo: Path, tmp_path: Path) -> None:
    from sxtseg.batch import find_tomograms, run_batch
    from sxtseg.pipeline import run_pipeline

    cfg = run_config_from(None, device="cpu", threshold=0.5, min_volume=0.0, formats="ply",
                          previews=False)  # fmt: skip
    (name,) = [t.name for t in find_tomograms([tomo])]
    out = tmp_path / "batch"
    run_pipeline(tomo, out / name, config=cfg)
    stamp = (out / name / "mask.mrc").stat().st_mtime_ns
    seen: list[str] = []
    result = run_batch([tomo], out, config=cfg,
                       on_result=lambda e, done, total: seen.append(e["status"]))  # fmt: skip
    assert result.counts == {"done": 0, "skipped": 1, "failed": 0} and seen == ["skipped"]
    assert result.cluster.extra.get("started") is False
    entry = result.tomograms[name]
    assert entry["objects_csv"] == str(out / name / "objects.csv")
    assert set(entry["stages"]) == {"segment", "objects", "surfaces", "measure"}
    assert (out / name / "mask.mrc").stat().st_mtime_ns == stamp
