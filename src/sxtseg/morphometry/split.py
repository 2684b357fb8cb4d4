"""Splitting objects: touching bodies (watershed) and thin protrusions (opening).

- :func:`split_touching` cuts two bodies joined by a neck (seeded watershed
  on the distance transform, h-maxima seeds).
- :func:`split_protrusions` cuts thin protrusions (filopodia, tubules) off a
  thicker body: the body is the morphological opening by a ball of
  ``radius_nm``; what the ball cannot reach, in pieces large enough, becomes
  objects of their own — the separation the paper did by hand in a GUI.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from sxtseg.types import SpacingLike, check_spacing

__all__ = ["split_protrusions", "split_touching"]

log = logging.getLogger(__name__)

_TWENTYSIX = ndimage.generate_binary_structure(3, 3)


def split_touching(
    labels: np.ndarray,
    *,
    spacing: SpacingLike,
    depth_nm: float | None = None,
    ids: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Split touching objects with a seeded watershed on the distance transform.

    Seeds are the h-maxima of the Euclidean distance to the background (in
    nm, with the voxel size), so two bodies joined by a neck at least
    ``depth_nm`` thinner than the smaller body become two objects, while an
    elongated object (a filopodium, a rod) stays whole.

    Parameters
    ----------
    labels : ndarray of int, shape (Z, Y, X)
        Instance labels, modified in place; new objects get new ids above the
        current maximum.
    spacing : float or (z, y, x)
        Voxel size in nm.
    depth_nm : float, optional
        The h of the h-maxima; default twice the largest voxel size.
    ids : ndarray of int, optional
        Only these labels are candidates (default: all).
    progress : callable(done, total), optional

    Returns
    -------
    ndarray
        ``labels`` (the same array).
    """
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    sp = check_spacing(spacing, name="spacing")
    h = float(depth_nm) if depth_nm is not None else 2.0 * max(sp)
    slices = ndimage.find_objects(labels)
    candidates = (
        [int(i) for i in ids] if ids is not None else [i + 1 for i, s in enumerate(slices) if s]
    )
    next_id = len(slices) + 1
    for done, obj_id in enumerate(candidates, 1):
        sl = slices[obj_id - 1] if obj_id - 1 < len(slices) else None
        if sl is None:
            continue
        crop = np.pad(labels[sl] == obj_id, 1)
        if crop.sum() < 64:
            continue
        dist = ndimage.distance_transform_edt(crop, sampling=sp).astype(np.float32)
        peaks = h_maxima(dist, h)
        markers, n = ndimage.label(peaks & crop, structure=_TWENTYSIX)
        if n > 1:
            ws = watershed(-dist, markers, mask=crop)[1:-1, 1:-1, 1:-1]
            view = labels[sl]
            inside = crop[1:-1, 1:-1, 1:-1]
            for k in range(2, n + 1):
                view[inside & (ws == k)] = next_id
                next_id += 1
            log.debug("object %d split into %d", obj_id, n)
        if progress is not None:
            progress(done, len(candidates))
    return labels


def split_protrusions(
    labels: np.ndarray,
    *,
    spacing: SpacingLike,
    radius_nm: float,
    min_volume_nm3: float | None = None,
    ids: np.ndarray | None = None,
) -> np.ndarray:
    """Cut protrusions thinner than ``2 × radius_nm`` off thicker bodies.

    For each object the body is its opening by a ball of ``radius_nm``
    (Euclidean, in nm: the union of all such balls that fit inside). Each
    26-connected piece of the rest with at least ``min_volume_nm3`` (default:
    a cylinder of radius ``radius_nm / 2`` and length ``2 × radius_nm``)
    becomes a new object; smaller pieces (the opening's slivers along the
    body's surface) stay with the body. Objects too thin to hold the ball
    at all are left whole.

    Parameters
    ----------
    labels : ndarray of int, shape (Z, Y, X)
        Instance labels, modified in place; new objects get ids above the
        current maximum.
    spacing : float or (z, y, x)
        Voxel size in nm.
    radius_nm : float
        Larger than the protrusions' radius, smaller than the bodies'.
    min_volume_nm3 : float, optional
    ids : ndarray of int, optional
        Only these labels are candidates (default: all).

    Returns
    -------
    ndarray
        ``labels`` (the same array).
    """
    sp = check_spacing(spacing, name="spacing")
    if radius_nm <= 0:
        raise ValueError("radius_nm must be > 0")
    vox = sp[0] * sp[1] * sp[2]
    min_vox = (min_volume_nm3 if min_volume_nm3 is not None else math.pi * radius_nm**3 / 2) / vox
    pad = tuple(math.ceil(radius_nm / s) + 1 for s in sp)
    slices = ndimage.find_objects(labels)
    candidates = ids if ids is not None else [i + 1 for i, s in enumerate(slices) if s]
    next_id = len(slices) + 1
    for obj_id in (int(i) for i in candidates):
        sl0 = slices[obj_id - 1] if 0 < obj_id <= len(slices) else None
        if sl0 is None:
            continue
        sl = tuple(
            slice(max(0, s.start - p), min(n, s.stop + p))
            for s, p, n in zip(sl0, pad, labels.shape, strict=True)
        )
        view = labels[sl]
        obj = np.pad(view == obj_id, 1)
        core = ndimage.distance_transform_edt(obj, sampling=sp) > radius_nm
        if not core.any():
            continue
        body = ndimage.distance_transform_edt(~core, sampling=sp) <= radius_nm
        rest = (obj & ~body)[1:-1, 1:-1, 1:-1]
        pieces, n = ndimage.label(rest, structure=_TWENTYSIX)
        if n == 0:
            continue
        sizes = np.bincount(pieces.ravel(), minlength=n + 1)
        kept = 0
        for k in np.flatnonzero(sizes >= min_vox):
            if k == 0:
                continue
            view[pieces == k] = next_id
            next_id += 1
            kept += 1
        if kept:
            log.debug("object %d: %d protrusions cut off", obj_id, kept)
    return labels
