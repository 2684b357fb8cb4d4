"""Object matching at IoU >= 0.5."""

from __future__ import annotations

import numpy as np
import pytest

from sxtseg.evaluate import label_objects, match_instances


def _ball(shape: tuple[int, int, int], centre: tuple[float, float, float], r: float) -> np.ndarray:
    zz, yy, xx = np.indices(shape)
    return (zz - centre[0]) ** 2 + (yy - centre[1]) ** 2 + (xx - centre[2]) ** 2 <= r * r


def test_two_spheres_one_matched_one_missed_plus_false_positive() -> None:
    shape = (24, 40, 40)
    true = np.zeros(shape, np.uint16)
    true[_ball(shape, (12, 10, 10), 6)] = 1
    true[_ball(shape, (12, 30, 30), 6)] = 2
    pred = np.zeros(shape, np.uint16)
    pred[_ball(shape, (12, 10, 11), 6)] = 5  # shifted by 1 voxel: IoU well above 0.5
    pred[_ball(shape, (12, 30, 37), 6)] = 9  # shifted by 7: IoU below 0.5
    d = match_instances(pred, true)
    assert (d.n_pred, d.n_true, d.matched) == (2, 2, 1)
    assert d.precision == 0.5 and d.recall == 0.5
    assert d.pairs[0][:2] == (5, 1) and d.pairs[0][2] > 0.6
    assert d.mean_iou == pytest.approx(d.pairs[0][2])
    assert match_instances(pred, true, iou=0.01).matched == 2


def test_masks_become_connected_components() -> None:
    shape = (16, 32, 32)
    a, b = _ball(shape, (8, 8, 8), 4), _ball(shape, (8, 22, 22), 4)
    mask = (a | b).astype(np.uint8)
    lab = label_objects(mask)
    assert lab.max() == 2
    d = match_instances(mask, mask)
    assert (d.matched, d.precision, d.recall, d.f1) == (2, 1.0, 1.0, 1.0)


def test_merged_prediction_matches_at_most_one() -> None:
    shape = (10, 20, 40)
    true = np.zeros(shape, np.int32)
    true[2:8, 5:15, 2:18] = 1
    true[2:8, 5:15, 22:38] = 2
    pred = np.zeros(shape, np.int32)
    pred[2:8, 5:15, 2:38] = 1  # one object covering both (IoU of each = 16/36 < 0.5)
    d = match_instances(pred, true)
    assert (d.matched, d.precision, d.recall) == (0, 0.0, 0.0)
    pred[2:8, 5:15, 2:38] = 0
    pred[2:8, 5:15, 2:22] = 1  # covers object 1 (16/20) and a bit of the gap
    d = match_instances(pred, true)
    assert (d.matched, d.precision, d.recall) == (1, 1.0, 0.5)
