"""Boundary precision/recall/F1 with a voxel tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from sxtseg.evaluate import boundary as boundary_mod
from sxtseg.evaluate import boundary_counts, evaluate_masks, mask_boundary


def _plane(z: int, shape: tuple[int, int, int] = (12, 16, 16)) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[z] = True
    return m


def test_plane_shifted_by_one_voxel() -> None:
    truth, pred = _plane(5), _plane(6)
    assert evaluate_masks(pred, truth, tolerance=0).boundary_f1 == 0.0
    for tol in (1, 1.5, 2):
        s = evaluate_masks(pred, truth, tolerance=tol)
        assert s.boundary_f1 == 1.0 and s.boundary_precision == 1.0
    assert evaluate_masks(pred, truth).f1 == 0.0  # voxel-wise they never overlap


def test_partial_shift_gives_known_fraction() -> None:
    truth = _plane(5)
    pred = truth.copy()
    pred[5, :, :4] = False
    pred[8, :, :4] = True  # a quarter of the plane moved 3 voxels away
    s = evaluate_masks(pred, truth, tolerance=2)
    # pred boundary: 16*16 voxels, 16*4 of them 3 voxels away from the truth plane
    assert s.boundary_precision == pytest.approx(0.75)
    # truth voxels at x = 2, 3 still have a predicted voxel (x = 4) within 2; x = 0, 1 do not
    assert s.boundary_recall == pytest.approx(1 - 2 * 16 / 256)
    assert evaluate_masks(pred, truth, tolerance=3).boundary_f1 == pytest.approx(1.0)


def test_anisotropic_spacing_measures_in_smallest_voxel_edge() -> None:
    truth, pred = _plane(5), _plane(6)
    # z voxels twice as long as y/x: a one-slice shift is 2 units away
    s = evaluate_masks(pred, truth, tolerance=1, spacing=(20.0, 10.0, 10.0))
    assert s.boundary_f1 == 0.0
    s = evaluate_masks(pred, truth, tolerance=2, spacing=(20.0, 10.0, 10.0))
    assert s.boundary_f1 == 1.0


def test_filled_cube_boundary_is_its_surface() -> None:
    m = np.zeros((7, 7, 7), bool)
    m[1:6, 1:6, 1:6] = True
    b = mask_boundary(m)
    assert b.sum() == 5**3 - 3**3
    assert not b[3, 3, 3]


def test_slabs_give_the_same_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    truth = rng.random((20, 12, 12)) > 0.97
    pred = np.roll(truth, 1, axis=0) | (rng.random(truth.shape) > 0.97)
    whole = boundary_counts(pred, truth, tolerance=1.5)
    monkeypatch.setattr(boundary_mod, "SLAB_VOXELS", 12 * 12 * 7)  # 1-slice cores
    slabbed = boundary_counts(pred, truth, tolerance=1.5)
    for name in ("pred_boundary", "pred_matched", "true_boundary", "true_matched"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(slabbed, name))
    assert 0 < whole.scores()["boundary_f1"] < 1


def test_2d_input() -> None:
    t = np.zeros((10, 10), bool)
    t[4] = True
    p = np.zeros((10, 10), bool)
    p[5] = True
    assert evaluate_masks(p, t, tolerance=1).boundary_f1 == 1.0
    assert evaluate_masks(p, t, tolerance=0.5).boundary_f1 == 0.0
