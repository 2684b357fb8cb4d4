"""Visible-membrane scores (an ignore mask) and planar mode on hand-made arrays."""

from __future__ import annotations

import numpy as np
import pytest

from sxtseg.evaluate import boundary as boundary_mod
from sxtseg.evaluate import boundary_counts, evaluate_arrays, evaluate_masks, visible_counts
from sxtseg.evaluate.config import EvaluateConfig


def _rows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truth rows 2 (visible) and 7 (flat); prediction rows 2, 7, 9 and 14, in a 16 x 10 image."""
    truth = np.zeros((16, 10), bool)
    truth[[2, 7]] = True
    ignore = np.zeros_like(truth)
    ignore[7] = True
    pred = np.zeros_like(truth)
    pred[[2, 7, 9, 14]] = True
    return pred, truth, ignore


def test_visible_boundary_scores_exact() -> None:
    pred, truth, ignore = _rows()
    b = boundary_counts(pred, truth, tolerance=2, ignore=ignore)
    s = b.scores()
    # full truth: rows 2, 7, 9 within 2 of truth, row 14 not
    assert s["boundary_precision"] == pytest.approx(30 / 40)
    assert s["boundary_recall"] == 1.0
    # visible: row 2 a hit, rows 7 and 9 ignored (near flat truth only), row 14 a false positive
    assert (int(b.pred_visible_matched.sum()), int(b.pred_ignored.sum())) == (10, 20)
    assert s["visible_boundary_precision"] == pytest.approx(10 / 20)
    assert s["visible_boundary_recall"] == 1.0
    assert s["visible_boundary_f1"] == pytest.approx(2 / 3)
    np.testing.assert_array_equal(b.pred_matched, b.pred_visible_matched + b.pred_ignored)


def test_visible_recall_counts_visible_truth_only() -> None:
    pred, truth, ignore = _rows()
    pred[2] = False  # the visible row is missed; the flat row is still predicted
    s = evaluate_masks(pred, truth, tolerance=1, ignore=ignore)
    assert s.visible_boundary_recall == 0.0 and s.visible_boundary_f1 == 0.0
    assert s.boundary_recall == 0.5  # full truth: the flat row counts
    assert s.visible_recall == 0.0 and s.recall == 0.5


def test_visible_voxel_scores_exact() -> None:
    pred, truth, ignore = _rows()
    s = evaluate_masks(pred, truth, tolerance=2, ignore=ignore)
    # visible row 2 found; rows 7, 9 excluded (within 2 of flat truth); row 14 a false positive
    assert (s.visible_tp, s.visible_fp, s.visible_fn, s.visible_excluded) == (10, 10, 0, 20)
    assert (s.visible_precision, s.visible_recall) == (0.5, 1.0)
    assert s.visible_f1 == pytest.approx(2 / 3) and s.visible_iou == 0.5
    assert (s.tp, s.fp, s.fn) == (20, 20, 0)  # full-truth counts unchanged
    # without a tolerance only predictions inside flat truth are excluded
    s = evaluate_masks(pred, truth, ignore=ignore)
    assert (s.visible_tp, s.visible_fp, s.visible_excluded) == (10, 20, 10)
    assert s.visible_precision == pytest.approx(1 / 3)
    d = s.to_dict()
    assert "visible_f1" in d and "visible_boundary_f1" not in d and "boundary_f1" not in d


def test_no_ignore_no_visible_keys_and_all_ignored() -> None:
    pred, truth, _ = _rows()
    d = evaluate_masks(pred, truth, tolerance=2).to_dict()
    assert not [k for k in d if k.startswith("visible_")]
    s = evaluate_masks(np.zeros_like(pred), truth, tolerance=2, ignore=truth)
    assert (s.visible_boundary_f1, s.visible_f1) == (1.0, 1.0)  # nothing visible, nothing found
    s = evaluate_masks(pred, truth, tolerance=2, ignore=truth.astype(np.uint8))
    assert s.visible_boundary_precision == 0.0  # row 14 false positive, rest ignored


def test_planar_does_not_match_across_slices() -> None:
    truth = np.zeros((2, 8, 8), bool)
    truth[0, 3] = True
    pred = np.zeros_like(truth)
    pred[1, 3] = True
    assert evaluate_masks(pred, truth, tolerance=1).boundary_f1 == 1.0
    s = evaluate_masks(pred, truth, tolerance=1, planar=True)
    assert s.boundary_f1 == 0.0
    # planar boundaries: a filled 3-slice block is a boundary in every slice
    block = np.zeros((5, 8, 8), bool)
    block[1:4, 2:6, 2:6] = True
    b = boundary_counts(block, block, tolerance=0, planar=True)
    assert b.true_boundary.tolist() == [0, 12, 12, 12, 0]
    assert boundary_counts(block, block, tolerance=0).true_boundary.tolist() == [0, 16, 12, 16, 0]


def test_visible_counts_in_slabs_are_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    truth = rng.random((14, 10, 10)) > 0.9
    ignore = rng.random(truth.shape) > 0.5
    pred = np.roll(truth, 1, axis=0) | (rng.random(truth.shape) > 0.95)
    whole_b = boundary_counts(pred, truth, tolerance=1.5, ignore=ignore)
    whole_v = visible_counts(pred, truth, ignore, tolerance=1.5)
    monkeypatch.setattr(boundary_mod, "SLAB_VOXELS", 10 * 10 * 6)
    slab_b = boundary_counts(pred, truth, tolerance=1.5, ignore=ignore)
    slab_v = visible_counts(pred, truth, ignore, tolerance=1.5)
    for k in ("pred_boundary", "pred_matched", "true_boundary", "true_matched",
              "pred_visible_matched", "pred_ignored", "true_visible", "true_visible_matched"):
        np.testing.assert_array_equal(getattr(whole_b, k), getattr(slab_b, k))
    for k in ("tp", "fp", "fn", "excluded"):
        np.testing.assert_array_equal(getattr(whole_v, k), getattr(slab_v, k))
    assert 0 < whole_b.scores()["visible_boundary_f1"] < 1


def test_evaluate_arrays_per_slice_with_ignore() -> None:
    pred, truth, ignore = _rows()
    ev = evaluate_arrays(np.stack([pred, pred]), np.stack([truth, truth]),
                         config=EvaluateConfig(tolerance=2, planar=True), per_slice=True,
                         ignore=np.stack([ignore, ignore]))  # fmt: skip
    assert ev.ignore == "array"
    assert ev.to_dict()["visible_boundary_f1"] == pytest.approx(2 / 3)
    assert ev.per_slice is not None and len(ev.per_slice) == 2
    assert ev.per_slice[1]["visible_boundary_precision"] == pytest.approx(0.5)
    assert ev.per_slice[0]["visible_precision"] == pytest.approx(0.5)


def test_ignore_shape_mismatch() -> None:
    pred, truth, _ = _rows()
    with pytest.raises(ValueError, match="ignore"):
        evaluate_masks(pred, truth, ignore=np.zeros((3, 3), bool))
