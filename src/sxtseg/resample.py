"""Resampling slices between a tomogram's voxel grid and a model's pixel size (numpy/scipy).

A model records the XY pixel size (nm) it works at. Training resamples every
slice to it and inference resamples each slice to it and the probabilities
back, with these functions, so both see the same thing:

- :func:`scale_factors` — how much the (Y, X) grid must be zoomed;
- :func:`needs_rescale` — False when every factor is within a tolerance of 1
  (±10 % by default: resampling then costs more than it corrects);
- :func:`target_shape` — the (H, W) of a slice at the model's pixel size;
- :func:`resample_slices` — linear (or nearest) interpolation to an exact
  (H, W), with a Gaussian anti-aliasing prefilter on every axis that shrinks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["needs_rescale", "resample_slices", "scale_factors", "target_shape"]

#: Zoom factors within this fraction of 1 are not worth resampling.
RESCALE_TOLERANCE = 0.10


def scale_factors(voxel_yx: Sequence[float], pixel_nm: float) -> tuple[float, float]:
    """Zoom (Y, X) that maps a grid of ``voxel_yx`` nm onto ``pixel_nm`` nm pixels.

    A factor > 1 enlarges (the input is coarser than the model's pixels).

    Parameters
    ----------
    voxel_yx : 2 floats
        Input voxel size along Y and X in nm.
    pixel_nm : float
        The model's pixel size in nm.
    """
    vy, vx = (float(v) for v in voxel_yx)
    p = float(pixel_nm)
    if not (vy > 0 and vx > 0 and p > 0 and math.isfinite(vy + vx + p)):
        raise ValueError(f"voxel sizes and pixel size must be finite and > 0, got "
                         f"{voxel_yx}, {pixel_nm}")  # fmt: skip
    return vy / p, vx / p


def needs_rescale(
    voxel_yx: Sequence[float], pixel_nm: float, *, tolerance: float = RESCALE_TOLERANCE
) -> bool:
    """True when a zoom factor differs from 1 by more than ``tolerance`` (a fraction)."""
    return any(abs(f - 1.0) > tolerance for f in scale_factors(voxel_yx, pixel_nm))


def target_shape(
    shape_yx: Sequence[int], voxel_yx: Sequence[float], pixel_nm: float
) -> tuple[int, int]:
    """(H, W) of a slice of ``shape_yx`` voxels after resampling to ``pixel_nm`` (>= 1 each)."""
    fy, fx = scale_factors(voxel_yx, pixel_nm)
    return max(1, round(int(shape_yx[0]) * fy)), max(1, round(int(shape_yx[1]) * fx))


def resample_slices(
    slices: np.ndarray, shape_yx: Sequence[int], *, order: int = 1, antialias: bool = True
) -> np.ndarray:
    """Resample slices to an exact (H, W).

    Pixel areas are aligned (pixel edges, not centres, map onto each other),
    as :func:`skimage.transform.resize` does. When an axis shrinks and
    ``antialias`` is set, the slices are first smoothed along it with a
    Gaussian of sigma ``(1/zoom − 1) / 2`` input pixels.

    Parameters
    ----------
    slices : ndarray, shape (N, Y, X) or (Y, X)
        Any real dtype.
    shape_yx : 2 ints
        Output (H, W).
    order : int
        0 nearest (labels), 1 linear (images, probabilities).
    antialias : bool

    Returns
    -------
    ndarray of float32 (order 1) or of the input dtype (order 0), shape (N, H, W) or (H, W)
    """
    from skimage.transform import resize

    arr = np.asarray(slices)
    squeeze = arr.ndim == 2
    if squeeze:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"expected (Y, X) or (N, Y, X) slices, got shape {arr.shape}")
    h, w = int(shape_yx[0]), int(shape_yx[1])
    if h < 1 or w < 1:
        raise ValueError(f"output shape must be positive, got {tuple(shape_yx)}")
    if (h, w) == arr.shape[1:]:
        out = arr if order == 0 else arr.astype(np.float32, copy=False)
    elif order == 0:
        out = resize(arr, (arr.shape[0], h, w), order=0, preserve_range=True,
                     anti_aliasing=False).astype(arr.dtype, copy=False)  # fmt: skip
    else:
        shrink = antialias and (h < arr.shape[1] or w < arr.shape[2])
        out = resize(arr.astype(np.float32, copy=False), (arr.shape[0], h, w), order=order,
                     preserve_range=True, anti_aliasing=shrink, mode="reflect"
                     ).astype(np.float32, copy=False)  # fmt: skip
    return out[0] if squeeze else out
