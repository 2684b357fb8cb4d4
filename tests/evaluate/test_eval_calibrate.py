"""Threshold calibration: exact against boundary_counts at every threshold, and fast."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import ndimage as ndi

from sxtseg.errors import InputError
from sxtseg.evaluate import (
    DEFAULT_SWEEP,
    binarize_prediction,
    boundary_counts,
    calibrate_threshold,
)


def test_hand_made_rows_pick_the_right_threshold() -> None:
    truth = np.zeros((12, 10), bool)
    truth[3] = True
    prob = np.zeros((12, 10), np.float32)
    prob[3] = 0.6  # the membrane
    prob[9] = 0.3  # a fainter false membrane far away
    cal = calibrate_threshold(prob, truth)
    assert cal.thresholds == list(DEFAULT_SWEEP) and len(cal.thresholds) == 19
    assert cal.thresholds[0] == 0.05 and cal.thresholds[-1] == 0.95
    # t <= 0.3: both rows (precision 1/2); 0.3 < t <= 0.6: the membrane only; above: nothing
    assert cal.threshold == 0.35 and cal.score == 1.0 and not cal.visible
    assert cal.scores[cal.thresholds.index(0.3)] == pytest.approx(2 / 3)
    assert cal.precisions[cal.thresholds.index(0.3)] == 0.5
    assert cal.scores[cal.thresholds.index(0.65)] == 0.0
    # with the membrane row flat (ignored), the fainter row is the only visible-truth candidate
    ignore = truth.copy()
    truth2 = truth.copy()
    truth2[9] = True
    cal = calibrate_threshold(prob, truth2, ignore=ignore, thresholds=[0.2, 0.5])
    assert cal.visible and cal.threshold == 0.2 and cal.score == 1.0
    assert cal.scores == [1.0, 0.0]


@pytest.mark.parametrize(
    ("planar", "spacing", "tol", "uint8", "with_ignore"),
    [
        (False, None, 2.0, False, True),
        (True, None, 2.0, False, True),
        (False, (20.0, 10.0, 10.0), 2.0, False, True),
        (True, (20.0, 10.0, 15.0), 1.5, True, True),
        (False, None, 0.0, False, False),
        (False, None, 3.0, True, False),
    ],
)
def test_equals_boundary_counts_at_every_threshold(
    planar: bool, spacing: tuple[float, ...] | None, tol: float, uint8: bool, with_ignore: bool
) -> None:
    rng = np.random.default_rng(7)
    shape = (5, 18, 20)
    truth = ndi.gaussian_filter(rng.random(shape), 1.5) > 0.52
    ignore = rng.random(shape) > 0.6 if with_ignore else None
    noisy = truth.astype(float) + rng.normal(0, 0.4, shape)
    prob = ndi.gaussian_filter(noisy, 1).clip(0, 1).astype(np.float32)
    if uint8:
        prob = (prob * 255).astype(np.uint8)
    cal = calibrate_threshold(prob, truth, ignore=ignore, tolerance=tol, spacing=spacing,
                              planar=planar)  # fmt: skip
    key = "visible_boundary_" if with_ignore else "boundary_"
    for t, f1, p, r in zip(cal.thresholds, cal.scores, cal.precisions, cal.recalls, strict=True):
        mask = binarize_prediction(prob, threshold=t).mask
        s = boundary_counts(mask, truth, tolerance=tol, spacing=spacing, ignore=ignore,
                            planar=planar).scores()  # fmt: skip
        assert (s[key + "f1"], s[key + "precision"], s[key + "recall"]) == (f1, p, r)
    assert cal.score == max(cal.scores)
    assert cal.threshold == cal.thresholds[cal.scores.index(cal.score)]


def test_batch_of_crops_is_fast() -> None:
    rng = np.random.default_rng(0)
    shape = (32, 128, 128)
    blobs = ndi.gaussian_filter(rng.random(shape), (0, 3, 3)) > 0.5
    truth = blobs & ~ndi.binary_erosion(blobs)
    ignore = rng.random(shape) > 0.7
    prob = np.clip(ndi.gaussian_filter(truth.astype(np.float32), (0, 1, 1)) * 2
                   + rng.normal(0, 0.1, shape), 0, 1).astype(np.float32)  # fmt: skip
    t0 = time.perf_counter()
    cal = calibrate_threshold(prob, truth, ignore=ignore, planar=True)
    assert time.perf_counter() - t0 < 5.0  # about 0.1 s; generous on a shared machine
    assert cal.score > 0.9


def test_bad_input() -> None:
    truth = np.zeros((4, 4), bool)
    with pytest.raises(InputError, match="label"):
        calibrate_threshold(np.full((4, 4), 3, np.int32), truth)
    with pytest.raises(ValueError, match="thresholds"):
        calibrate_threshold(np.zeros((4, 4), np.float32), truth, thresholds=[0.0, 0.5])
    with pytest.raises(InputError, match="shape"):
        calibrate_threshold(np.zeros((4, 5), np.float32), truth)
