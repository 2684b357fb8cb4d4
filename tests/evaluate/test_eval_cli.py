"""`sxtseg evaluate` in-process on real MRC files, and the baselines."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from sxtseg.cli import main
from sxtseg.io import write_volume
from sxtseg.types import Volume


def _write(path: Path, data: np.ndarray, vs: tuple[float, ...] | None = (10, 10, 10)) -> str:
    write_volume(path, Volume(data, vs))
    return str(path)


def _shell(shape: tuple[int, int, int] = (16, 32, 32)) -> np.ndarray:
    zz, yy, xx = np.indices(shape)
    r = np.sqrt((zz - 8) ** 2 + (yy - 16) ** 2 + (xx - 16) ** 2)
    return ((r > 9) & (r < 11.5)).astype(np.uint8)


def test_cli_probabilities_tolerance_per_slice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = _shell()
    prob = np.where(np.roll(truth, 1, axis=2) > 0, 0.95, 0.05).astype(np.float32)
    t = _write(tmp_path / "truth.mrc", truth)
    p = _write(tmp_path / "prob.mrc", prob)
    csv_path = tmp_path / "slices.csv"
    rc = main(["evaluate", p, t, "--tolerance", "1", "--per-slice", str(csv_path)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("accuracy", "precision", "recall", "f1", "iou",
                "boundary_precision", "boundary_recall", "boundary_f1"):  # fmt: skip
        assert 0.0 <= out[key] <= 1.0
    assert out["kind"] == "probabilities" and out["threshold"] == 0.9
    assert out["f1"] < 0.9  # shifted one voxel in x
    assert out["boundary_f1"] == 1.0
    assert out["voxel_size"] == [10.0, 10.0, 10.0]
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == 16 and "boundary_f1" in rows[0]
    assert sum(int(r["tp"]) for r in rows) == out["tp"]
    # a threshold above every probability leaves nothing
    assert main(["evaluate", p, t, "--threshold", "0.99"]) == 0
    assert json.loads(capsys.readouterr().out)["recall"] == 0.0


def test_cli_instances_and_uint8_probabilities(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = np.zeros((16, 32, 32), np.uint16)
    truth[2:8, 2:12, 2:12] = 1
    truth[9:15, 18:30, 18:30] = 2
    prob = np.zeros(truth.shape, np.uint8)
    prob[2:8, 2:12, 2:12] = 250  # 0.98: found
    prob[9:15, 18:30, 18:30] = 200  # 0.78: below 0.9
    t = _write(tmp_path / "inst.mrc", truth)
    p = _write(tmp_path / "prob8.mrc", prob)
    assert main(["evaluate", p, t, "--instances"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "probabilities_uint8"
    assert out["detection_n_true"] == 2 and out["detection_matched"] == 1
    assert out["detection_recall"] == 0.5 and out["detection_precision"] == 1.0
    assert main(["evaluate", p, t, "--instances", "--threshold", "0.7"]) == 0
    assert json.loads(capsys.readouterr().out)["detection_recall"] == 1.0


def test_cli_shape_mismatch_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = _write(tmp_path / "a.mrc", np.zeros((4, 8, 8), np.uint8))
    p = _write(tmp_path / "b.mrc", np.zeros((4, 8, 9), np.uint8))
    assert main(["evaluate", p, t]) == 2
    err = capsys.readouterr().err
    assert "shape" in err and "Traceback" not in err


def test_cli_bad_probabilities_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = _write(tmp_path / "a.mrc", np.zeros((4, 8, 8), np.uint8))
    p = _write(tmp_path / "b.mrc", np.full((4, 8, 8), -0.5, np.float32))
    assert main(["evaluate", p, t]) == 2
    assert "[0, 1]" in capsys.readouterr().err


def test_otsu_polarity_and_random_forest() -> None:
    from sxtseg.evaluate import evaluate_masks, otsu_segment, random_forest_segment
    from sxtseg.evaluate.baselines import ForestConfig

    rng = np.random.default_rng(1)
    truth = _shell((12, 32, 32)).astype(bool)
    dark = np.where(truth, 0.2, 1.0) + rng.normal(0, 0.1, truth.shape)  # membranes dark
    o = otsu_segment(dark, labelled_images=dark[:3], labelled_masks=truth[:3])
    assert o.polarity == "dark"
    assert evaluate_masks(o.mask, truth).f1 > 0.95
    assert otsu_segment(dark).polarity == "dark"  # minority side
    assert otsu_segment(-dark).polarity == "bright"
    rf = random_forest_segment(dark[:4], truth[:4], dark[4:],
                               config=ForestConfig(n_estimators=10, sigma_max=4))  # fmt: skip
    assert rf.probabilities.shape == truth[4:].shape
    assert evaluate_masks(rf.mask, truth[4:]).f1 > 0.9


def _flat_case(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truth: planes z = 3 (visible) and z = 9 (flat); prediction: z = 3, 9 and 14."""
    folder.mkdir(parents=True, exist_ok=True)
    truth = np.zeros((16, 8, 8), np.uint8)
    truth[[3, 9]] = 1
    flat = np.zeros_like(truth)
    flat[9] = 1
    pred = np.zeros_like(truth)
    pred[[3, 9, 14]] = 1
    return pred, truth, flat


def test_cli_uses_flat_beside_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pred, truth, flat = _flat_case(tmp_path / "sim")
    t = _write(tmp_path / "sim" / "membranes.mrc", truth)
    f = _write(tmp_path / "sim" / "flat.mrc", flat)
    p = _write(tmp_path / "pred.mrc", pred)
    assert main(["evaluate", p, t, "--tolerance", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ignore"] == f
    assert out["boundary_precision"] == pytest.approx(2 / 3)
    assert out["visible_boundary_precision"] == 0.5  # z = 9 ignored, z = 14 a false positive
    assert out["visible_boundary_recall"] == 1.0
    assert out["visible_boundary_f1"] == pytest.approx(2 / 3)
    for key in ("visible_precision", "visible_recall", "visible_f1", "visible_iou"):
        assert key in out
    assert main(["evaluate", p, t, "--tolerance", "2", "--no-ignore"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ignore"] is None and "visible_boundary_f1" not in out
    # an explicit mask: ignore nothing of the truth -> visible scores equal the full ones
    other = _write(tmp_path / "none.mrc", np.zeros_like(truth))
    assert main(["evaluate", p, t, "--tolerance", "2", "--ignore", other]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ignore"] == other
    assert out["visible_boundary_f1"] == out["boundary_f1"]
    bad = _write(tmp_path / "bad.mrc", np.zeros((4, 8, 8), np.uint8))
    assert main(["evaluate", p, t, "--ignore", bad]) == 2
    assert "shape" in capsys.readouterr().err


def test_cli_skips_flat_of_another_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pred, truth, _ = _flat_case(tmp_path / "sim")
    t = _write(tmp_path / "sim" / "membranes.mrc", truth)
    _write(tmp_path / "sim" / "flat.mrc", np.zeros((4, 8, 8), np.uint8))
    p = _write(tmp_path / "pred.mrc", pred)
    assert main(["evaluate", p, t, "--planar"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ignore"] is None and "visible_f1" not in out


def test_random_forest_leaves_ignored_pixels_unlabelled(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from sxtseg.evaluate import fit_random_forest
    from sxtseg.evaluate.baselines import ForestConfig

    rng = np.random.default_rng(2)
    truth = _shell((6, 32, 32)).astype(bool)
    images = np.where(truth, 0.2, 1.0) + rng.normal(0, 0.1, truth.shape)
    cfg = ForestConfig(n_estimators=5, sigma_max=2, max_samples_per_class=50_000)
    ignore = truth.copy()
    ignore[:, :16] = False  # half of the membrane stays labelled
    with caplog.at_level(logging.DEBUG, logger="sxtseg.evaluate.baselines"):
        fit_random_forest(images, truth, config=cfg)
        fit_random_forest(images, truth, config=cfg, ignore=ignore)
    # the cap exceeds every class, so all labelled pixels are drawn: the ignored ones are not
    trained = [r.getMessage() for r in caplog.records if "trained on" in r.getMessage()]
    assert trained == [f"random forest trained on {truth.size} pixels",
                       f"random forest trained on {np.count_nonzero(~ignore)} pixels"]  # fmt: skip
    with pytest.raises(ValueError, match="both membrane and background"):
        fit_random_forest(images, truth, config=cfg, ignore=truth)
