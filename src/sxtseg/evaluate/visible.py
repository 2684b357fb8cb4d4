"""Voxel-wise scores on visible membranes (numpy/scipy only).

The simulator marks *flat* membrane voxels (normal within 45° of Z, hidden
by the missing wedge) in ``flat.mrc``; any such mask is an ``ignore`` mask.
Visible truth is ``truth & ~ignore``, ignored truth ``truth & ignore``. A
predicted voxel that is not visible truth but lies within the tolerance of
ignored truth (without a tolerance: inside it) is *excluded*: neither a true
nor a false positive. Recall counts visible truth only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sxtseg.errors import InputError
from sxtseg.evaluate.boundary import _near, _slabs, check_tolerance, sampling_of
from sxtseg.evaluate.counts import ratio
from sxtseg.types import SpacingLike

__all__ = ["VisibleCounts", "ignore_mask", "visible_counts"]


def ignore_mask(ignore: Any, shape: tuple[int, ...]) -> np.ndarray:
    """An ignore mask as bool (non-zero = ignored), checked against ``shape``.

    Parameters
    ----------
    ignore : array-like
        Any dtype; non-zero (and NaN-free) values are ignored voxels.
    shape : tuple of int
        Shape of the truth.

    Returns
    -------
    ndarray of bool, shape ``shape``
    """
    arr = np.asarray(ignore)
    if arr.shape != tuple(shape):
        raise InputError(f"ignore mask shape {arr.shape} differs from ground truth {tuple(shape)}")
    if arr.dtype == bool:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InputError(f"cannot read an ignore mask of dtype {arr.dtype}")
    return arr != 0


@dataclass(frozen=True)
class VisibleCounts:
    """Voxel counts against visible truth, per Z slice.

    Attributes
    ----------
    tp, fp, fn : ndarray of int64, shape (Z,)
        Predicted visible truth, predicted voxels neither visible truth nor
        excluded, visible truth not predicted ((1,) for a 2D input).
    excluded : ndarray of int64, shape (Z,)
        Predicted voxels near ignored truth only (not scored).
    """

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    excluded: np.ndarray

    @staticmethod
    def _scores(tp: int, fp: int, fn: int) -> dict[str, float]:
        empty = tp + fp + fn == 0
        return {
            "visible_precision": ratio(tp, tp + fp, both_empty=empty),
            "visible_recall": ratio(tp, tp + fn, both_empty=empty),
            "visible_f1": ratio(2 * tp, 2 * tp + fp + fn, both_empty=empty),
            "visible_iou": ratio(tp, tp + fp + fn, both_empty=empty),
        }

    def totals(self) -> dict[str, int]:
        """``visible_tp, visible_fp, visible_fn, visible_excluded`` over the whole volume."""
        return {f"visible_{k}": int(getattr(self, k).sum())
                for k in ("tp", "fp", "fn", "excluded")}  # fmt: skip

    def scores(self) -> dict[str, float]:
        """``visible_precision, visible_recall, visible_f1, visible_iou`` over the whole volume."""
        return self._scores(int(self.tp.sum()), int(self.fp.sum()), int(self.fn.sum()))

    def slice_scores(self, z: int) -> dict[str, float]:
        """The same scores for voxels in slice ``z``."""
        return self._scores(int(self.tp[z]), int(self.fp[z]), int(self.fn[z]))


def _per_slice(a: np.ndarray) -> np.ndarray:
    return np.count_nonzero(a.reshape(a.shape[0], -1), axis=1).astype(np.int64)


def visible_counts(
    pred: np.ndarray,
    truth: np.ndarray,
    ignore: np.ndarray,
    *,
    tolerance: float | None = None,
    spacing: SpacingLike | None = None,
    planar: bool = False,
) -> VisibleCounts:
    """Count voxels against visible truth, in Z slabs.

    Parameters
    ----------
    pred, truth, ignore : ndarray of bool, shape (Z, Y, X) or (Y, X)
        Predicted mask, true mask and ignore mask (ignored truth = ``truth & ignore``).
    tolerance : float, optional
        Predicted voxels within this many voxels of ignored truth are excluded;
        ``None`` or 0: only those inside ignored truth.
    spacing : float or 3 floats, optional
        Voxel size (z, y, x) in nm; only ratios matter.
    planar : bool
        Treat axis 0 of a 3D array as independent 2D images.

    Returns
    -------
    VisibleCounts
    """
    pred, truth, ignore = (np.asarray(a, dtype=bool) for a in (pred, truth, ignore))
    if not pred.shape == truth.shape == ignore.shape:
        raise ValueError(f"shapes differ: {pred.shape}, {truth.shape}, {ignore.shape}")
    tol = 0.0 if tolerance is None else check_tolerance(tolerance)
    if pred.ndim == 2:
        pred, truth, ignore, planar = pred[None], truth[None], ignore[None], True
    sampling = sampling_of(spacing, 2 if planar else 3)
    nz = pred.shape[0]
    out = {k: np.zeros(nz, dtype=np.int64) for k in ("tp", "fp", "fn", "excluded")}
    halo = 0 if planar or tol == 0 else math.ceil(tol)
    for z0, z1, a0, a1 in _slabs(pred.shape, halo):
        p, t, ig = pred[a0:a1], truth[a0:a1], ignore[a0:a1]
        vis = t & ~ig
        near_ign = _near(t & ig, tol, sampling, planar)
        other = p & ~vis
        maps = {"tp": p & vis, "fn": vis & ~p, "excluded": other & near_ign,
                "fp": other & ~near_ign}  # fmt: skip
        for key, arr in maps.items():
            out[key][z0:z1] = _per_slice(arr[z0 - a0 : z1 - a0])
    return VisibleCounts(**out)
