"""Mask clean-up in physical units: object size, border band, morphology (numpy/scipy).

All functions take a binary mask of shape (Z, Y, X) and the voxel size
``spacing`` (z, y, x) in nm, and return a new ``bool`` array of the same shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from scipy import ndimage

from sxtseg.types import check_connectivity, check_spacing

__all__ = [
    "border_margin_voxels",
    "clear_border",
    "closing_nm",
    "ellipsoid_footprint",
    "erosion_nm",
    "opening_nm",
    "remove_small_objects_nm",
]


def _as_mask(mask: np.ndarray) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.ndim != 3:
        raise ValueError(f"expected a (Z, Y, X) mask, got shape {arr.shape}")
    return arr.astype(bool, copy=False)


def _structure(connectivity: int) -> np.ndarray:
    return ndimage.generate_binary_structure(3, check_connectivity(connectivity))


def remove_small_objects_nm(
    mask: np.ndarray,
    *,
    spacing: Sequence[float],
    min_volume_nm3: float,
    connectivity: int = 3,
) -> np.ndarray:
    """Remove connected objects whose volume is below ``min_volume_nm3``.

    Parameters
    ----------
    mask : ndarray, shape (Z, Y, X)
        Binary mask (any dtype; nonzero = foreground).
    spacing : (z, y, x) float
        Voxel size in nm.
    min_volume_nm3 : float
        Smallest volume kept, in nm³ (an object of n voxels has n·z·y·x nm³).
    connectivity : {1, 2, 3}
        1 faces, 2 + edges, 3 + corners (26 neighbours); 6, 18 and 26 are
        accepted (:func:`sxtseg.types.check_connectivity`).

    Returns
    -------
    ndarray of bool, shape (Z, Y, X)
    """
    m = _as_mask(mask)
    sz, sy, sx = check_spacing(spacing, name="spacing")
    if min_volume_nm3 <= 0:
        return m.copy()
    min_voxels = math.ceil(min_volume_nm3 / (sz * sy * sx) - 1e-9)
    labels, n = ndimage.label(m, structure=_structure(connectivity))
    if n == 0:
        return m.copy()
    counts = np.bincount(labels.ravel())
    keep = counts >= min_voxels
    keep[0] = False
    return keep[labels]


def border_margin_voxels(border_nm: float, *, spacing: Sequence[float]) -> tuple[int, int, int]:
    """Number of voxels (z, y, x) that a band of ``border_nm`` nm covers (rounded up)."""
    sp = check_spacing(spacing, name="spacing")
    if border_nm < 0:
        raise ValueError(f"border_nm must be >= 0, got {border_nm}")
    z, y, x = (math.ceil(border_nm / s - 1e-9) for s in sp)
    return (z, y, x)


def clear_border(
    mask: np.ndarray,
    *,
    margin: int | Sequence[int],
    objects: bool = False,
    connectivity: int = 3,
) -> np.ndarray:
    """Clear a band of ``margin`` voxels along every face of the volume.

    Reconstructions are least reliable at their faces (truncated projections,
    the missing wedge at the top and bottom), a main source of false positives.

    Parameters
    ----------
    mask : ndarray, shape (Z, Y, X)
    margin : int or (z, y, x) ints
        Band width in voxels per axis (see :func:`border_margin_voxels` for nm).
    objects : bool
        Remove every connected object that reaches into the band (like
        ``skimage.segmentation.clear_border``), not only the voxels inside it.
    connectivity : {1, 2, 3}
        Neighbourhood of those objects (as in :func:`remove_small_objects_nm`).

    Returns
    -------
    ndarray of bool, shape (Z, Y, X)
    """
    m = _as_mask(mask)
    if isinstance(margin, (int, float, np.integer, np.floating)):
        mz = my = mx = int(margin)
    else:
        mz, my, mx = (int(v) for v in margin)
    if min(mz, my, mx) < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    band = np.zeros(m.shape, dtype=bool)
    for axis, w in enumerate((mz, my, mx)):
        if w == 0:
            continue
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, w)
        hi[axis] = slice(max(0, m.shape[axis] - w), None)
        band[tuple(lo)] = True
        band[tuple(hi)] = True
    if not objects:
        return m & ~band
    labels, n = ndimage.label(m, structure=_structure(connectivity))
    if n == 0:
        return m.copy()
    touching = np.zeros(n + 1, dtype=bool)
    touching[np.unique(labels[band])] = True
    touching[0] = True
    return ~touching[labels]


def ellipsoid_footprint(radius_nm: float, *, spacing: Sequence[float]) -> np.ndarray:
    """A 3D ellipsoidal structuring element of physical radius ``radius_nm``.

    Returns
    -------
    ndarray of bool, shape (2rz+1, 2ry+1, 2rx+1)
        With r = floor(radius_nm / voxel size) per axis; a single voxel when
        the radius is below one voxel on every axis.
    """
    sp = check_spacing(spacing, name="spacing")
    radii = [math.floor(radius_nm / s + 1e-9) for s in sp]
    grids = np.ogrid[tuple(slice(-r, r + 1) for r in radii)]
    dist = sum((g * s / max(radius_nm, 1e-12)) ** 2 for g, s in zip(grids, sp))
    return np.asarray(dist <= 1.0 + 1e-9)


def _padded(
    op: Any, m: np.ndarray, fp: np.ndarray, *, mode: Literal["constant", "edge"]
) -> np.ndarray:
    """Apply a scipy binary morphology ``op`` to ``m`` padded by half the footprint."""
    pad = tuple((n // 2, n // 2) for n in fp.shape)
    out = op(np.pad(m, pad, mode=mode), structure=fp)
    return out[tuple(slice(a, a + n) for (a, _), n in zip(pad, m.shape))]


def opening_nm(mask: np.ndarray, *, spacing: Sequence[float], radius_nm: float) -> np.ndarray:
    """Binary opening with an ellipsoid of ``radius_nm``: removes features thinner than it.

    Returns
    -------
    ndarray of bool, shape (Z, Y, X)
    """
    m = _as_mask(mask)
    if radius_nm <= 0:
        return m.copy()
    fp = ellipsoid_footprint(radius_nm, spacing=spacing)
    # pad with edge values so objects cut by the volume face are not eroded from it
    return _padded(ndimage.binary_opening, m, fp, mode="edge")


def closing_nm(mask: np.ndarray, *, spacing: Sequence[float], radius_nm: float) -> np.ndarray:
    """Binary closing with an ellipsoid of ``radius_nm``: bridges gaps narrower than it.

    Returns
    -------
    ndarray of bool, shape (Z, Y, X)
    """
    m = _as_mask(mask)
    if radius_nm <= 0:
        return m.copy()
    fp = ellipsoid_footprint(radius_nm, spacing=spacing)
    return _padded(ndimage.binary_closing, m, fp, mode="constant")


def erosion_nm(mask: np.ndarray, *, spacing: Sequence[float], radius_nm: float) -> np.ndarray:
    """Binary erosion with an ellipsoid of ``radius_nm`` (the volume faces count as foreground).

    Returns
    -------
    ndarray of bool, shape (Z, Y, X)
    """
    m = _as_mask(mask)
    if radius_nm <= 0:
        return m.copy()
    fp = ellipsoid_footprint(radius_nm, spacing=spacing)
    return ndimage.binary_erosion(m, structure=fp, border_value=1)
