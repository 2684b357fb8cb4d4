"""Voxel-wise scores on hand-made arrays with known TP/FP/FN/TN counts."""

from __future__ import annotations

import numpy as np
import pytest

from sxtseg.errors import InputError
from sxtseg.evaluate import (
    binarize_prediction,
    evaluate_masks,
    per_slice_scores,
    truth_mask,
)


def _pair() -> tuple[np.ndarray, np.ndarray]:
    truth = np.zeros((2, 4, 5), bool)
    pred = np.zeros((2, 4, 5), bool)
    truth[0, 0, :4] = True  # 4 true voxels in slice 0
    truth[1, 1, :2] = True  # 2 true voxels in slice 1
    pred[0, 0, :3] = True  # 3 TP in slice 0
    pred[0, 3, :2] = True  # 2 FP in slice 0
    pred[1, 1, 0] = True  # 1 TP, 1 FN in slice 1
    return pred, truth


def test_known_counts() -> None:
    pred, truth = _pair()
    s = evaluate_masks(pred, truth)
    assert (s.tp, s.fp, s.fn, s.tn) == (4, 2, 2, 32)
    assert s.accuracy == pytest.approx(36 / 40)
    assert s.precision == pytest.approx(4 / 6)
    assert s.recall == pytest.approx(4 / 6)
    assert s.f1 == pytest.approx(2 * 4 / (2 * 4 + 2 + 2))
    assert s.iou == pytest.approx(4 / 8)
    assert s.kind == "mask"
    assert "boundary_f1" not in s.to_dict()


def test_per_slice_counts_add_up() -> None:
    pred, truth = _pair()
    rows = per_slice_scores(pred, truth)
    assert [(r["tp"], r["fp"], r["fn"]) for r in rows] == [(3, 2, 1), (1, 0, 1)]
    assert rows[0]["precision"] == pytest.approx(3 / 5)
    assert rows[1]["recall"] == pytest.approx(1 / 2)
    assert sum(r["tp"] + r["fp"] + r["fn"] + r["tn"] for r in rows) == pred.size


def test_probability_threshold_inclusive_and_custom() -> None:
    truth = np.array([[1, 1, 0, 0]], np.uint8)
    prob = np.array([[0.95, 0.9, 0.89, 0.2]], np.float32)
    s = evaluate_masks(prob, truth)
    assert s.kind == "probabilities"
    assert (s.tp, s.fp, s.fn) == (2, 0, 0)
    s = evaluate_masks(prob, truth, threshold=0.5)
    assert (s.tp, s.fp, s.fn) == (2, 1, 0)


def test_uint8_probabilities_scaled_by_255() -> None:
    prob = np.array([[255, 230, 229, 128, 0]], np.uint8)  # 230/255 = 0.902, 229/255 = 0.898
    b = binarize_prediction(prob, threshold=0.9)
    assert b.kind == "probabilities_uint8"
    assert b.mask.tolist() == [[True, True, False, False, False]]
    assert binarize_prediction(prob, threshold=0.5).mask.tolist() == [
        [True, True, True, True, False]
    ]


def test_masks_and_labels_taken_as_they_are() -> None:
    assert binarize_prediction(np.array([[0, 1]], np.uint8)).kind == "mask"
    assert binarize_prediction(np.array([[0.0, 1.0]], np.float32)).kind == "mask"
    labels = np.array([[0, 3, 7]], np.uint16)
    b = binarize_prediction(labels)
    assert b.kind == "labels" and b.mask.tolist() == [[False, True, True]]
    assert truth_mask(np.array([[0, 2]], np.int32)).tolist() == [[False, True]]


@pytest.mark.parametrize(
    "bad", [np.array([[-0.5, 0.5]], np.float32), np.array([[np.nan, 0.5]], np.float32)]
)
def test_bad_float_prediction(bad: np.ndarray) -> None:
    with pytest.raises(InputError):
        binarize_prediction(bad)


def test_probability_truth_rejected_and_shape_mismatch() -> None:
    with pytest.raises(InputError, match="ground truth"):
        truth_mask(np.array([[0.2, 0.7]]))
    with pytest.raises(InputError, match="shape"):
        evaluate_masks(np.zeros((2, 3, 3), bool), np.zeros((2, 3, 4), bool))


def test_empty_conventions() -> None:
    empty = np.zeros((2, 3, 3), bool)
    s = evaluate_masks(empty, empty, tolerance=1)
    assert (s.precision, s.recall, s.f1, s.iou, s.boundary_f1) == (1.0, 1.0, 1.0, 1.0, 1.0)
    full = empty.copy()
    full[0, 1, 1] = True
    s = evaluate_masks(empty, full, tolerance=1)
    assert (s.precision, s.recall, s.f1, s.boundary_f1) == (0.0, 0.0, 0.0, 0.0)
    s = evaluate_masks(full, empty)
    assert (s.precision, s.recall, s.f1) == (0.0, 0.0, 0.0)
