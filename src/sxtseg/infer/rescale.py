"""Nanometre-aware inference: planes resampled to the model's pixel size and back.

A model records the XY pixel size (nm) it works at (``meta["pixel_size_nm"]``).
Each plane handed to the network is resampled to that pixel size with
:func:`sxtseg.resample.resample_slices` (linear, Gaussian anti-aliasing along
axes that shrink), and the probabilities are resampled back to the input
grid exactly (same H, W). Zooms within ±10 % of 1
(:func:`sxtseg.resample.needs_rescale`) are not worth it and are skipped.

The in-plane spacing depends on the plane direction: an XY plane has (Y, X)
spacing, an XZ plane (Z, X), a YZ plane (Z, Y). The planes are resampled in
the compute step, one slab at a time, so memory stays bounded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sxtseg.errors import InputError
from sxtseg.resample import needs_rescale, resample_slices, scale_factors, target_shape
from sxtseg.types import Spacing

__all__ = ["PlaneScale", "model_pixel_size", "plane_scale", "plane_spacing", "rescaled"]

log = logging.getLogger(__name__)

#: In-plane (rows, columns) volume axes of the planes stacked along axis 0, 1, 2.
_IN_PLANE = {0: (1, 2), 1: (0, 2), 2: (0, 1)}
_NAMES = {0: "xy", 1: "xz", 2: "yz"}


@dataclass(frozen=True)
class PlaneScale:
    """How planes of one direction are resampled for the network.

    Attributes
    ----------
    shape : (H, W)
        In-plane shape on the input grid, in voxels.
    target : (h, w)
        In-plane shape at the model's pixel size, in pixels.
    zoom : (float, float)
        ``target / shape`` as the spacings say (> 1 enlarges).
    """

    shape: tuple[int, int]
    target: tuple[int, int]
    zoom: tuple[float, float]

    def to_model(self, planes: np.ndarray) -> np.ndarray:
        """(N, H, W) float32 -> (N, h, w) float32 at the model's pixel size (anti-aliased)."""
        return resample_slices(planes, self.target, order=1, antialias=True)

    def to_input(self, prob: np.ndarray) -> np.ndarray:
        """(N, h, w) probabilities -> (N, H, W) on the input grid, clipped to [0, 1]."""
        out = resample_slices(prob, self.shape, order=1, antialias=True)
        return np.clip(out, 0.0, 1.0, out=out)


def plane_spacing(spacing: Spacing, axis: int) -> tuple[float, float]:
    """In-plane (rows, columns) spacing in nm of planes stacked along ``axis`` of (Z, Y, X).

    ``axis`` 0 (XY planes) -> (y, x); 1 (XZ planes) -> (z, x); 2 (YZ planes) -> (z, y).
    """
    a, b = _IN_PLANE[int(axis)]
    return float(spacing[a]), float(spacing[b])


def model_pixel_size(
    pixel_size_nm: float | None, spacing: Spacing | None, *, rescale: bool, source: str
) -> float | None:
    """The pixel size (nm) to resample to, or None for no resampling.

    Parameters
    ----------
    pixel_size_nm : float or None
        The model's ``meta["pixel_size_nm"]``.
    spacing : (z, y, x) nm or None
        The input's voxel size.
    rescale : bool
        ``SegmentConfig.rescale``.
    source : str
        The input's name, for the error message.

    Raises
    ------
    InputError
        The model has a pixel size, ``rescale`` is on and the input has no voxel size.
    """
    if pixel_size_nm is None or not rescale:
        return None
    if spacing is None:
        raise InputError(
            f"{source} has no voxel size and the model works at {pixel_size_nm:g} nm/px: "
            "pass --voxel-size NM (or --no-rescale to use the voxels as they are)"
        )
    return float(pixel_size_nm)


def plane_scale(
    shape: tuple[int, int, int], spacing: Spacing | None, axis: int, pixel_nm: float | None
) -> PlaneScale | None:
    """Resampling of the planes stacked along ``axis`` of a (Z, Y, X) volume; None if not needed.

    Parameters
    ----------
    shape : (Z, Y, X)
    spacing : (z, y, x) nm or None
    axis : int
        0 (XY planes), 1 (XZ planes) or 2 (YZ planes).
    pixel_nm : float or None
        From :func:`model_pixel_size`; None means no resampling.

    Returns
    -------
    PlaneScale or None
        None when ``pixel_nm`` is None or both zooms are within ±10 % of 1.
    """
    if pixel_nm is None or spacing is None:
        return None
    a, b = _IN_PLANE[int(axis)]
    in_plane = plane_spacing(spacing, axis)
    hw = (int(shape[a]), int(shape[b]))
    zoom = scale_factors(in_plane, pixel_nm)
    if not needs_rescale(in_plane, pixel_nm):
        log.info("%s planes: %g x %g nm vs model %g nm/px, within 10%%: not resampled",
                 _NAMES[axis], in_plane[0], in_plane[1], pixel_nm)  # fmt: skip
        return None
    target = target_shape(hw, in_plane, pixel_nm)
    log.info("%s planes: %g x %g nm -> model %g nm/px, zoom %.3g x %.3g (%dx%d -> %dx%d px)",
             _NAMES[axis], in_plane[0], in_plane[1], pixel_nm, zoom[0], zoom[1],
             hw[0], hw[1], target[0], target[1])  # fmt: skip
    return PlaneScale(hw, target, zoom)


def rescaled(
    predict: Callable[[np.ndarray], np.ndarray], scale: PlaneScale | None
) -> Callable[[np.ndarray], np.ndarray]:
    """``predict`` (normalised planes -> probabilities) wrapped in the resampling of ``scale``.

    The returned function maps (N, H, W) normalised planes on the input grid to
    (N, H, W) float32 probabilities on the same grid; ``predict`` sees
    (N, h, w) planes at the model's pixel size. ``scale=None`` returns ``predict``.
    """
    if scale is None:
        return predict

    def run(planes: np.ndarray) -> np.ndarray:
        return scale.to_input(predict(scale.to_model(planes)))

    return run
