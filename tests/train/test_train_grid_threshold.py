"""The mask threshold chosen again after training on whole validation slices, input grid."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import sxtseg
from sxtseg.cli import main
from sxtseg.evaluate import calibrate_threshold
from sxtseg.infer import SegmentConfig, segment_array
from sxtseg.io import read_volume

#: A few steps of a tiny network on the 6×64×64 shells (10 nm voxels).
SMALL = {"preset": "tiny", "crop": 32, "batch_size": 2, "steps_per_epoch": 3, "epochs": 1,
         "threads": 1, "unlabeled_ratio": 0.0}  # fmt: skip


def _args(data: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "train", "--labeled", str(data["lab_a"]), "--val", str(data["lab_b"]),
        "--preset", "tiny", "-o", str(out), "--crop", "32", "--batch-size", "2",
        "--steps-per-epoch", "3", "--epochs", "2", "--threads", "1", "--lr", "1e-3",
        "--unlabeled-ratio", "0", "--seed", "1", "-q", *extra,
    ]  # fmt: skip


def test_resampled_validation_sets_the_threshold_on_the_input_grid(
    shell_data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the shells are written at 10 nm; a 20 nm model resamples them 2x
    out = tmp_path / "m20"
    assert main(_args(shell_data, out, "--pixel-size", "20")) == 0
    assert "chosen on whole validation slices on their own grid" in capsys.readouterr().out
    meta = json.loads((out / "config.json").read_text())["meta"]
    record = meta["threshold_calibration"]
    assert record["tomograms"] == ["lab_b"]
    rows = (out / "metrics.csv").read_text().splitlines()
    best = meta["training"]["best_epoch"]
    crops_threshold = float(rows[best + 1].split(",")[rows[0].split(",").index("val_threshold")])
    assert record["threshold_at_model_pixel_size"] == pytest.approx(crops_threshold)
    # the stored threshold is the best of the sweep on the validation tomogram's own
    # grid, segmented as `sxtseg segment` does (all 6 slices are validation slices)
    tomo = read_volume(shell_data["lab_b"] / "tomogram.mrc")
    truth = np.asarray(read_volume(shell_data["lab_b"] / "membranes.mrc").data) > 0
    prob = segment_array(np.asarray(tomo.data), str(out), config=SegmentConfig(threshold=0.5),
                         voxel_size=tomo.voxel_size)  # fmt: skip
    assert prob.shape == truth.shape
    expected = calibrate_threshold(prob, truth, tolerance=2.0, planar=True)
    assert meta["threshold"] == pytest.approx(expected.threshold)
    assert record["score"] == pytest.approx(expected.score, abs=1e-6)
    # and `segment` uses it
    assert sxtseg.load_model(out).meta["threshold"] == pytest.approx(expected.threshold)


def test_no_resampling_keeps_the_crops_threshold(
    shell_data: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "m10"
    result = sxtseg.train_model(shell_data["lab_a"], out, validation=shell_data["lab_b"],
                                pixel_size_nm=10.0, **SMALL)  # fmt: skip
    assert result.input_grid is None
    meta = json.loads((out / "config.json").read_text())["meta"]
    assert "threshold_calibration" not in meta
    assert meta["threshold"] == pytest.approx(result.best.threshold)


def test_api_training_also_calibrates_on_the_input_grid(
    shell_data: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "api20"
    result = sxtseg.train_model(shell_data["lab_a"], out, validation=shell_data["lab_b"],
                                pixel_size_nm=20.0, **SMALL)  # fmt: skip
    assert result.input_grid is not None
    meta = json.loads((out / "config.json").read_text())["meta"]
    assert meta["threshold"] == pytest.approx(result.input_grid.threshold)
    assert len(result.input_grid.scores) == len(result.input_grid.thresholds) == 19
