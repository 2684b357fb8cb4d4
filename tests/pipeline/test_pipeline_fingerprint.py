"""`sxtseg run` reruns the segment stage when the model, its threshold or a setting changes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sxtseg.cli import main
from sxtseg.io import read_volume, write_volume
from sxtseg.model import build_model
from sxtseg.model.checkpoint import save_model
from sxtseg.pipeline import model_identity
from sxtseg.types import Volume


@pytest.fixture(scope="module")
def tomo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shell in noise, 8 x 64 x 64 voxels of 9.8 nm."""
    z, y, x = np.ogrid[:8, :64, :64]
    shell = np.abs(np.sqrt((z - 4) ** 2 + (y - 32) ** 2 + (x - 30) ** 2) - 20) < 1.5
    noise = np.random.default_rng(0).normal(0, 0.3, shell.shape)
    path = tmp_path_factory.mktemp("tomo") / "tomogram.mrc"
    write_volume(path, Volume((shell + noise).astype(np.float32), (9.8, 9.8, 9.8)))
    return path


def _save(folder: Path, seed: int, **meta: object) -> Path:
    torch.manual_seed(seed)
    model = build_model("tiny")
    return save_model(model, model.config, folder, meta={"trained": True, **meta})


def _segment(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_segment_fingerprint_follows_model_and_settings(tomo: Path, tmp_path: Path) -> None:
    model = _save(tmp_path / "model", 0, threshold=0.8, pixel_size_nm=19.6)
    out = tmp_path / "res"
    args = ["run", str(tomo), "-o", str(out), "--model", str(model), "--device", "cpu",
            "--no-previews", "--formats", "ply"]  # fmt: skip
    assert main(args) == 0
    first = _segment(out)
    seg = first["stages"]["segment"]
    assert first["threshold"] == 0.8 and seg["threshold"] == 0.8
    assert seg["zoom"] == pytest.approx([0.5, 0.5]) and seg["model_pixel_size_nm"] == 19.6
    assert first["model"]["weights_sha256"] == model_identity(model)["weights_sha256"]
    assert read_volume(out / "probabilities.mrc").shape == (8, 64, 64)
    assert any("p >= 0.8" in lbl for lbl in read_volume(out / "mask.mrc").metadata["labels"])

    def segment_ran(extra: list[str]) -> bool:
        assert main([*args, *extra]) == 0
        return not _segment(out)["stages"]["segment"]["skipped"]

    assert not segment_ran([])  # nothing changed
    _save(model, 1, threshold=0.8, pixel_size_nm=19.6)  # retrained: new weights, same folder
    assert segment_ran([])
    _save(model, 1, threshold=0.6, pixel_size_nm=19.6)  # recalibrated threshold
    assert segment_ran([])
    assert _segment(out)["threshold"] == 0.6
    assert segment_ran(["--no-rescale"])
    assert _segment(out)["stages"]["segment"]["zoom"] is None
    assert not segment_ran(["--no-rescale"])
    assert segment_ran(["--no-rescale", "--threshold", "0.7"])
    assert _segment(out)["stages"]["segment"]["threshold"] == 0.7
    assert segment_ran(["--no-rescale", "--threshold", "0.7", "--voxel-size", "10"])
    assert segment_ran(["--no-rescale", "--threshold", "0.7", "--voxel-size", "10", "--tta"])


def test_model_identity_of_old_and_default_folders(tmp_path: Path) -> None:
    ident = model_identity("default")
    assert len(ident["weights_sha256"]) == 64
    old = _save(tmp_path / "old", 0)
    doc = json.loads((old / "config.json").read_text())
    del doc["weights_sha256"]  # a folder without the record: the file is hashed
    (old / "config.json").write_text(json.dumps(doc))
    ident = model_identity(old)
    assert ident["threshold"] is None and ident["pixel_size_nm"] is None
    assert ident["weights_sha256"] == model_identity(_save(tmp_path / "new", 0))["weights_sha256"]
