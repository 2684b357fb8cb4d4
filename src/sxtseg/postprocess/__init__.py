"""Post-processing of binary membrane masks in physical units (numpy/scipy only).

Usable alone on any mask::

    from sxtseg.postprocess import PostprocessConfig, postprocess
    clean = postprocess(mask, spacing=(9.8, 9.8, 9.8),
                        config=PostprocessConfig(min_volume_nm3=1e6, border_nm=100),
                        tomogram=tomo)

Steps, in order: cell mask (needs the tomogram), border band, opening,
closing, erosion, small-object removal. Each is also a function of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from sxtseg.postprocess.cell import bin_volume, cell_mask, otsu_threshold
from sxtseg.postprocess.config import PostprocessConfig
from sxtseg.postprocess.filters import (
    border_margin_voxels,
    clear_border,
    closing_nm,
    ellipsoid_footprint,
    erosion_nm,
    opening_nm,
    remove_small_objects_nm,
)

__all__ = [
    "PostprocessConfig",
    "bin_volume",
    "border_margin_voxels",
    "cell_mask",
    "clear_border",
    "closing_nm",
    "ellipsoid_footprint",
    "erosion_nm",
    "opening_nm",
    "otsu_threshold",
    "postprocess",
    "remove_small_objects_nm",
]

log = logging.getLogger(__name__)


def postprocess(
    mask: np.ndarray,
    *,
    spacing: Sequence[float],
    config: PostprocessConfig | None = None,
    tomogram: Any = None,
) -> np.ndarray:
    """Apply the steps of ``config`` to a binary mask.

    Parameters
    ----------
    mask : ndarray, shape (Z, Y, X)
        Binary mask (nonzero = membrane).
    spacing : (z, y, x) float
        Voxel size in nm.
    config : PostprocessConfig, optional
        Default: every step off (the mask comes back unchanged, as bool).
    tomogram : array-like, shape (Z, Y, X), optional
        Needed for ``config.cell_mask``.

    Returns
    -------
    ndarray of bool, shape (Z, Y, X)

    Raises
    ------
    ValueError
        ``cell_mask`` requested without a tomogram, or shapes that differ.
    """
    cfg = config or PostprocessConfig()
    out = np.asarray(mask).astype(bool, copy=True)
    if out.ndim != 3:
        raise ValueError(f"expected a (Z, Y, X) mask, got shape {out.shape}")
    n0 = int(out.sum())
    if cfg.cell_mask:
        if tomogram is None:
            raise ValueError("the cell mask needs the tomogram")
        if tuple(tomogram.shape) != out.shape:
            raise ValueError(f"tomogram shape {tuple(tomogram.shape)} != mask shape {out.shape}")
        out &= cell_mask(tomogram, spacing=spacing, smooth_nm=cfg.cell_smooth_nm,
                         dilate_nm=cfg.cell_dilate_nm, invert=cfg.invert)  # fmt: skip
    if cfg.border_nm > 0:
        margin = border_margin_voxels(cfg.border_nm, spacing=spacing)
        out = clear_border(out, margin=margin, objects=cfg.border_objects,
                           connectivity=cfg.connectivity)  # fmt: skip
    if cfg.opening_nm > 0:
        out = opening_nm(out, spacing=spacing, radius_nm=cfg.opening_nm)
    if cfg.closing_nm > 0:
        out = closing_nm(out, spacing=spacing, radius_nm=cfg.closing_nm)
    if cfg.erosion_nm > 0:
        out = erosion_nm(out, spacing=spacing, radius_nm=cfg.erosion_nm)
    if cfg.min_volume_nm3 > 0:
        out = remove_small_objects_nm(out, spacing=spacing, min_volume_nm3=cfg.min_volume_nm3,
                                      connectivity=cfg.connectivity)  # fmt: skip
    log.info("post-processing kept %d of %d foreground voxels", int(out.sum()), n0)
    return out
