"""Validation: visible boundary-F1 of crops, threshold calibration, checkpoint selection."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sxtseg.train.metrics import ValidationScores
from sxtseg.train.validation import boundary_scores, selection_key


def _crops() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two 32×32 crops: membranes (rows) at p = 0.6, a distractor at p = 0.3."""
    truth = np.zeros((2, 32, 32), bool)
    truth[:, 8, 4:28] = True
    truth[1, 20, 4:28] = True
    prob = np.where(truth, 0.6, 0.02).astype(np.float32)
    prob[0, 24, 4:28] = 0.3  # not a membrane: wrong below 0.3
    return prob, truth, np.zeros_like(truth)


def test_calibration_finds_the_threshold_that_separates() -> None:
    prob, truth, ignore = _crops()
    f1, t = boundary_scores(prob, truth, ignore, tolerance=2.0, calibrate=True, threshold=0.9)
    assert f1 == pytest.approx(1.0) and 0.3 < t <= 0.6
    f1_fixed, t_fixed = boundary_scores(prob, truth, ignore, tolerance=2.0, calibrate=False,
                                        threshold=0.9)  # fmt: skip
    assert t_fixed == 0.9 and f1_fixed == 0.0  # nothing predicted at 0.9
    f1_low, _ = boundary_scores(prob, truth, ignore, tolerance=2.0, calibrate=False, threshold=0.2)
    assert 0.5 < f1_low < 0.95  # the distractor is a false positive


def test_predictions_on_ignored_pixels_do_not_count() -> None:
    prob, truth, ignore = _crops()
    prob[1, 26:, :] = 0.95  # confident nonsense ...
    ignore[1, 26:, :] = True  # ... where nothing is labelled
    f1, t = boundary_scores(prob, truth, ignore, tolerance=2.0, calibrate=True, threshold=0.9)
    assert f1 == pytest.approx(1.0) and 0.3 < t <= 0.6
    ignore[:] = False  # the same prediction on labelled background is wrong
    f1_counted, _ = boundary_scores(prob, truth, ignore, tolerance=2.0, calibrate=True,
                                    threshold=0.9)  # fmt: skip
    assert f1_counted < 0.95


def test_no_visible_membrane_gives_nan_and_the_fixed_threshold() -> None:
    prob, truth, ignore = _crops()
    f1, t = boundary_scores(prob, np.zeros_like(truth), ignore, tolerance=2.0, calibrate=True,
                            threshold=0.8)  # fmt: skip
    assert math.isnan(f1) and t == 0.8


def test_selection_prefers_boundary_f1_then_loss_and_nan_is_worst() -> None:
    good = ValidationScores(loss=0.5, boundary_f1=0.8)
    better = ValidationScores(loss=0.9, boundary_f1=0.85)
    tie_lower_loss = ValidationScores(loss=0.4, boundary_f1=0.8)
    undefined = ValidationScores(loss=0.1)
    key = lambda s: selection_key(s, "boundary_f1")  # noqa: E731
    assert key(better) > key(good)
    assert key(tie_lower_loss) > key(good)
    assert key(undefined) < key(good)
    assert key(undefined) > key(ValidationScores())  # NaN F1: the loss still orders epochs
    by_loss = lambda s: selection_key(s, "loss")  # noqa: E731
    assert by_loss(good) > by_loss(better) and by_loss(undefined) > by_loss(good)
    assert by_loss(ValidationScores()) < by_loss(better)
