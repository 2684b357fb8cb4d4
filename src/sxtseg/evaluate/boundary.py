"""Boundary precision, recall and F1 with a distance tolerance (numpy/scipy only).

The boundary of a mask is its set of foreground voxels with at least one
face-neighbour in the background (6-connectivity in 3D, 4 in 2D); the edge of
the array does not count as background. For thin membranes the boundary is
almost the whole mask; for filled objects it is their surface.

A predicted boundary voxel is *matched* when a true boundary voxel lies within
``tolerance`` voxels of it (Euclidean distance transform,
:func:`scipy.ndimage.distance_transform_edt`), and vice versa:

- boundary precision = matched predicted boundary voxels / predicted boundary voxels,
- boundary recall    = matched true boundary voxels / true boundary voxels,
- boundary F1        = 2 P R / (P + R).

With a voxel size the distances are anisotropic, in units of the smallest
voxel edge, so the tolerance stays in voxels. Tolerance 0 asks for exact
overlap. Volumes are processed in Z slabs with a halo, so memory stays
bounded and the result is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from sxtseg.evaluate.metrics import ratio

__all__ = ["BoundaryCounts", "boundary_counts", "mask_boundary"]

#: Voxels per slab (core + halo) when a volume is processed in Z slabs.
SLAB_VOXELS = 16_000_000


def mask_boundary(mask: np.ndarray) -> np.ndarray:
    """Foreground voxels with a face-neighbour in the background.

    Parameters
    ----------
    mask : ndarray of bool, shape (Z, Y, X) or (Y, X)

    Returns
    -------
    ndarray of bool, same shape
    """
    mask = np.asarray(mask, dtype=bool)
    structure = ndi.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndi.binary_erosion(mask, structure=structure, border_value=1)


@dataclass(frozen=True)
class BoundaryCounts:
    """Boundary voxel counts, in total and per Z slice.

    Attributes
    ----------
    tolerance : float
        Tolerance in voxels.
    pred_boundary, pred_matched, true_boundary, true_matched : ndarray of int64, shape (Z,)
        Per-slice counts of predicted / true boundary voxels and of those matched
        within the tolerance (shape (1,) for a 2D input).
    """

    tolerance: float
    pred_boundary: np.ndarray
    pred_matched: np.ndarray
    true_boundary: np.ndarray
    true_matched: np.ndarray

    @staticmethod
    def _scores(pb: int, pm: int, tb: int, tm: int) -> dict[str, float]:
        empty = pb == 0 and tb == 0
        p = ratio(pm, pb, both_empty=empty)
        r = ratio(tm, tb, both_empty=empty)
        f = 1.0 if empty else (2 * p * r / (p + r) if p + r > 0 else 0.0)
        return {"boundary_precision": p, "boundary_recall": r, "boundary_f1": f}

    def scores(self) -> dict[str, float]:
        """``boundary_precision``, ``boundary_recall``, ``boundary_f1`` over the whole volume."""
        return self._scores(
            int(self.pred_boundary.sum()),
            int(self.pred_matched.sum()),
            int(self.true_boundary.sum()),
            int(self.true_matched.sum()),
        )

    def slice_scores(self, z: int) -> dict[str, float]:
        """The same scores for voxels in slice ``z`` (matches may lie in neighbouring slices)."""
        return self._scores(
            int(self.pred_boundary[z]),
            int(self.pred_matched[z]),
            int(self.true_boundary[z]),
            int(self.true_matched[z]),
        )


def _sampling(spacing: Any, ndim: int) -> tuple[float, ...] | None:
    if spacing is None:
        return None
    from sxtseg.types import check_spacing

    s = np.asarray(check_spacing(spacing), dtype=np.float64)[-ndim:]
    return tuple(float(v) for v in s / s.min())


def _matched(boundary: np.ndarray, other: np.ndarray, tol: float, sampling: Any) -> np.ndarray:
    """Voxels of ``boundary`` within ``tol`` of a voxel of ``other`` (bool, same shape)."""
    if not other.any() or not boundary.any():
        return np.zeros_like(boundary)
    if tol == 0:
        return boundary & other
    dist = ndi.distance_transform_edt(~other, sampling=sampling)
    return boundary & (dist <= tol + 1e-9)


def _per_slice(a: np.ndarray) -> np.ndarray:
    return np.count_nonzero(a.reshape(a.shape[0], -1), axis=1).astype(np.int64)


def boundary_counts(
    pred: np.ndarray,
    truth: np.ndarray,
    *,
    tolerance: float,
    spacing: Any = None,
) -> BoundaryCounts:
    """Count boundary voxels matched within ``tolerance`` voxels.

    Parameters
    ----------
    pred, truth : ndarray of bool, shape (Z, Y, X) or (Y, X)
        Predicted and true masks.
    tolerance : float
        Tolerance in voxels, >= 0.
    spacing : float or 3 floats, optional
        Voxel size (z, y, x) in nm; only ratios matter (anisotropic distances).

    Returns
    -------
    BoundaryCounts
    """
    tol = float(tolerance)
    if not (tol >= 0 and math.isfinite(tol)):
        raise ValueError(f"tolerance must be a finite number >= 0 voxels, got {tolerance}")
    pred = np.asarray(pred, dtype=bool)
    truth = np.asarray(truth, dtype=bool)
    if pred.shape != truth.shape:
        raise ValueError(f"shapes differ: {pred.shape} vs {truth.shape}")
    sampling = _sampling(spacing, pred.ndim)
    if pred.ndim == 2:
        pb, tb = mask_boundary(pred), mask_boundary(truth)
        pm, tm = _matched(pb, tb, tol, sampling), _matched(tb, pb, tol, sampling)
        return BoundaryCounts(tol, *(np.array([np.count_nonzero(a)]) for a in (pb, pm, tb, tm)))
    nz = pred.shape[0]
    halo = math.ceil(tol) + 1
    plane = max(1, pred.shape[1] * pred.shape[2])
    core = max(1, SLAB_VOXELS // plane - 2 * halo)
    out = {k: np.zeros(nz, dtype=np.int64) for k in ("pb", "pm", "tb", "tm")}
    for z0 in range(0, nz, core):
        z1 = min(nz, z0 + core)
        a0, a1 = max(0, z0 - halo), min(nz, z1 + halo)
        sl = slice(z0 - a0, z1 - a0)
        pb, tb = mask_boundary(pred[a0:a1]), mask_boundary(truth[a0:a1])
        pm, tm = _matched(pb, tb, tol, sampling), _matched(tb, pb, tol, sampling)
        for key, arr in (("pb", pb), ("pm", pm), ("tb", tb), ("tm", tm)):
            out[key][z0:z1] = _per_slice(arr[sl])
    return BoundaryCounts(tol, out["pb"], out["pm"], out["tb"], out["tm"])
