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

Visible membranes (an ``ignore`` mask, e.g. the simulator's ``flat.mrc``):
true boundary voxels inside ``ignore`` are *ignored truth* and the others
*visible truth*. Visible recall counts visible true boundary voxels only; a
predicted boundary voxel within the tolerance of visible truth is a hit, one
within the tolerance of ignored truth only is ignored (neither hit nor false
positive), any other is a false positive.

With a voxel size the distances are anisotropic, in units of the smallest
voxel edge, so the tolerance stays in voxels. Tolerance 0 asks for exact
overlap. Volumes are processed in Z slabs with a halo, so memory stays
bounded and the result is exact. ``planar=True`` treats axis 0 of an
(N, H, W) array as N independent 2D images (boundaries and distances within
each image only).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from sxtseg.evaluate.counts import ratio
from sxtseg.types import SpacingLike, check_spacing

__all__ = ["BoundaryCounts", "boundary_counts", "mask_boundary", "near_mask"]

#: Voxels per slab (core + halo) when a volume is processed in Z slabs.
SLAB_VOXELS = 16_000_000

_EPS = 1e-9


def _structure(ndim: int, planar: bool) -> np.ndarray:
    s = ndi.generate_binary_structure(ndim, 1)
    if planar and ndim == 3:
        s[0] = False
        s[2] = False
    return s


def mask_boundary(mask: np.ndarray, *, planar: bool = False) -> np.ndarray:
    """Foreground voxels with a face-neighbour in the background.

    Parameters
    ----------
    mask : ndarray of bool, shape (Z, Y, X) or (Y, X)
    planar : bool
        With a 3D mask: only neighbours within each slice of axis 0 count.

    Returns
    -------
    ndarray of bool, same shape
    """
    mask = np.asarray(mask, dtype=bool)
    structure = _structure(mask.ndim, planar)
    return mask & ~ndi.binary_erosion(mask, structure=structure, border_value=1)


def sampling_of(spacing: SpacingLike | None, ndim: int) -> tuple[float, ...] | None:
    """Voxel edges (last ``ndim`` axes of ``spacing``) over the smallest; None = isotropic."""
    if spacing is None:
        return None
    s = np.asarray(check_spacing(spacing), dtype=np.float64)[-ndim:]
    return tuple(float(v) for v in s / s.min())


def check_tolerance(tolerance: Any) -> float:
    """``tolerance`` as a float; ``ValueError`` unless finite and >= 0."""
    tol = float(tolerance)
    if not (tol >= 0 and math.isfinite(tol)):
        raise ValueError(f"tolerance must be a finite number >= 0 voxels, got {tolerance}")
    return tol


def _near(target: np.ndarray, tol: float, sampling: Any, planar: bool) -> np.ndarray:
    """Voxels within ``tol`` of a voxel of ``target`` (bool, same shape)."""
    if not target.any():
        return np.zeros(target.shape, dtype=bool)
    if tol == 0:
        return target.copy()
    if planar and target.ndim == 3:
        out = np.zeros(target.shape, dtype=bool)
        for i, plane in enumerate(target):
            out[i] = _near(plane, tol, sampling, False)
        return out
    return ndi.distance_transform_edt(~target, sampling=sampling) <= tol + _EPS


def _slabs(shape: tuple[int, ...], halo: int) -> Iterator[tuple[int, int, int, int]]:
    """(z0, z1, a0, a1): core [z0, z1) and core + halo [a0, a1) along axis 0."""
    nz = shape[0]
    plane = max(1, int(np.prod(shape[1:])))
    core = max(1, SLAB_VOXELS // plane - 2 * halo)
    for z0 in range(0, nz, core):
        z1 = min(nz, z0 + core)
        yield z0, z1, max(0, z0 - halo), min(nz, z1 + halo)


def near_mask(
    target: np.ndarray,
    *,
    tolerance: float,
    spacing: SpacingLike | None = None,
    planar: bool = False,
) -> np.ndarray:
    """Voxels within ``tolerance`` voxels of a voxel of ``target``, in Z slabs.

    Parameters
    ----------
    target : ndarray of bool, shape (Z, Y, X) or (Y, X)
    tolerance : float
        Distance in voxels (units of the smallest voxel edge), >= 0; 0 = ``target`` itself.
    spacing : float or 3 floats, optional
        Voxel size (z, y, x) in nm; only ratios matter.
    planar : bool
        Treat axis 0 of a 3D array as independent 2D images.

    Returns
    -------
    ndarray of bool, same shape
    """
    tol = check_tolerance(tolerance)
    target = np.asarray(target, dtype=bool)
    if target.ndim == 2:
        return near_mask(target[None], tolerance=tol, spacing=spacing, planar=True)[0]
    sampling = sampling_of(spacing, 2 if planar else 3)
    out = np.zeros(target.shape, dtype=bool)
    halo = 0 if planar else math.ceil(tol) + 1
    for z0, z1, a0, a1 in _slabs(target.shape, halo):
        out[z0:z1] = _near(target[a0:a1], tol, sampling, planar)[z0 - a0 : z1 - a0]
    return out


@dataclass(frozen=True)
class BoundaryCounts:
    """Boundary voxel counts, in total and per Z slice.

    Attributes
    ----------
    tolerance : float
        Tolerance in voxels.
    pred_boundary, pred_matched, true_boundary, true_matched : ndarray of int64, shape (Z,)
        Per-slice counts of predicted / true boundary voxels and of those matched
        within the tolerance, against the full truth (shape (1,) for a 2D input).
    pred_visible_matched, pred_ignored, true_visible, true_visible_matched : \
ndarray of int64, shape (Z,), or None
        With an ignore mask: predicted boundary voxels within the tolerance of
        visible truth (hits), those within the tolerance of ignored truth only
        (ignored), visible true boundary voxels, and those with a predicted
        boundary voxel within the tolerance. ``None`` without an ignore mask.
        ``pred_matched == pred_visible_matched + pred_ignored``.
    """

    tolerance: float
    pred_boundary: np.ndarray
    pred_matched: np.ndarray
    true_boundary: np.ndarray
    true_matched: np.ndarray
    pred_visible_matched: np.ndarray | None = None
    pred_ignored: np.ndarray | None = None
    true_visible: np.ndarray | None = None
    true_visible_matched: np.ndarray | None = None

    @property
    def has_visible(self) -> bool:
        """True when visible-membrane counts were made (an ignore mask was given)."""
        return self.true_visible is not None

    @staticmethod
    def _scores(pb: int, pm: int, tb: int, tm: int, prefix: str = "") -> dict[str, float]:
        empty = pb == 0 and tb == 0
        p = ratio(pm, pb, both_empty=empty)
        r = ratio(tm, tb, both_empty=empty)
        f = 1.0 if empty else (2 * p * r / (p + r) if p + r > 0 else 0.0)
        return {f"{prefix}boundary_precision": p, f"{prefix}boundary_recall": r,
                f"{prefix}boundary_f1": f}  # fmt: skip

    def _at(self, idx: Any) -> dict[str, float]:
        def n(a: np.ndarray) -> int:
            return int(a[idx].sum())

        out = self._scores(n(self.pred_boundary), n(self.pred_matched),
                           n(self.true_boundary), n(self.true_matched))  # fmt: skip
        if self.has_visible:
            assert self.pred_visible_matched is not None and self.pred_ignored is not None
            assert self.true_visible is not None and self.true_visible_matched is not None
            scored = n(self.pred_boundary) - n(self.pred_ignored)
            out.update(self._scores(scored, n(self.pred_visible_matched),
                                    n(self.true_visible), n(self.true_visible_matched),
                                    prefix="visible_"))  # fmt: skip
        return out

    def scores(self) -> dict[str, float]:
        """``boundary_precision``, ``boundary_recall``, ``boundary_f1`` over the whole volume.

        With an ignore mask also ``visible_boundary_precision``,
        ``visible_boundary_recall`` and ``visible_boundary_f1``.
        """
        return self._at(slice(None))

    def slice_scores(self, z: int) -> dict[str, float]:
        """The same scores for voxels in slice ``z`` (matches may lie in neighbouring slices)."""
        return self._at(slice(z, z + 1))


def _per_slice(a: np.ndarray) -> np.ndarray:
    return np.count_nonzero(a.reshape(a.shape[0], -1), axis=1).astype(np.int64)


def _slab_counts(
    pred: np.ndarray,
    truth: np.ndarray,
    ignore: np.ndarray | None,
    tol: float,
    sampling: Any,
    planar: bool,
) -> dict[str, np.ndarray]:
    """Boolean maps of one slab, keyed like the BoundaryCounts fields."""
    pb, tb = mask_boundary(pred, planar=planar), mask_boundary(truth, planar=planar)
    near_t = _near(tb, tol, sampling, planar) if pb.any() else np.zeros_like(pb)
    near_p = _near(pb, tol, sampling, planar) if tb.any() else np.zeros_like(tb)
    out = {"pred_boundary": pb, "pred_matched": pb & near_t,
           "true_boundary": tb, "true_matched": tb & near_p}  # fmt: skip
    if ignore is not None:
        tv = tb & ~ignore
        near_v = _near(tv, tol, sampling, planar) if pb.any() else np.zeros_like(pb)
        out["pred_visible_matched"] = pb & near_v
        out["pred_ignored"] = pb & near_t & ~near_v
        out["true_visible"] = tv
        out["true_visible_matched"] = tv & near_p
    return out


def boundary_counts(
    pred: np.ndarray,
    truth: np.ndarray,
    *,
    tolerance: float,
    spacing: SpacingLike | None = None,
    ignore: np.ndarray | None = None,
    planar: bool = False,
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
    ignore : ndarray of bool, same shape, optional
        Truth voxels not scored (simulator truth: ``flat.mrc``); adds the
        visible-membrane counts (see the module docstring). Only its overlap
        with the truth's boundary matters.
    planar : bool
        Treat axis 0 of a 3D array as independent 2D images (no matching
        across slices).

    Returns
    -------
    BoundaryCounts
        Per-slice arrays have shape (Z,), or (1,) for a 2D input.
    """
    tol = check_tolerance(tolerance)
    pred = np.asarray(pred, dtype=bool)
    truth = np.asarray(truth, dtype=bool)
    if pred.shape != truth.shape:
        raise ValueError(f"shapes differ: {pred.shape} vs {truth.shape}")
    if ignore is not None:
        ignore = np.asarray(ignore, dtype=bool)
        if ignore.shape != truth.shape:
            raise ValueError(f"ignore mask shape {ignore.shape} differs from {truth.shape}")
    if pred.ndim == 2:
        pred, truth, planar = pred[None], truth[None], True
        ignore = None if ignore is None else ignore[None]
    if pred.ndim != 3:
        raise ValueError(f"expected a (Y, X) or (Z, Y, X) array, got shape {pred.shape}")
    sampling = sampling_of(spacing, 2 if planar else 3)
    nz = pred.shape[0]
    keys = ["pred_boundary", "pred_matched", "true_boundary", "true_matched"]
    if ignore is not None:
        keys += ["pred_visible_matched", "pred_ignored", "true_visible", "true_visible_matched"]
    out = {k: np.zeros(nz, dtype=np.int64) for k in keys}
    halo = 0 if planar else math.ceil(tol) + 1
    for z0, z1, a0, a1 in _slabs(pred.shape, halo):
        ig = None if ignore is None else ignore[a0:a1]
        maps = _slab_counts(pred[a0:a1], truth[a0:a1], ig, tol, sampling, planar)
        for key, arr in maps.items():
            out[key][z0:z1] = _per_slice(arr[z0 - a0 : z1 - a0])
    return BoundaryCounts(tol, **out)
