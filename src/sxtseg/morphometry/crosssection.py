"""2D cross-sections of an object across Z slices: axis lengths and perimeters in nm.

This is the paper's filopodia analysis (measured there by hand in MIB): every
Z slice of an object is cut into its 8-connected 2D pieces; each piece is
described by the ellipse with the same second moments (first and second full
axis lengths) and its perimeter; the object's row reports the mean and SD
over all pieces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from sxtseg.types import SpacingLike, check_spacing

__all__ = ["SectionStats", "cross_sections", "section_axes", "section_perimeter"]

_EIGHT = ndimage.generate_binary_structure(2, 2)


@dataclass(frozen=True)
class SectionStats:
    """Cross-section statistics over the Z slices of one object (lengths in nm).

    SDs are sample SDs (n − 1); NaN when fewer than two sections.
    """

    count: int
    axis_first_mean_nm: float
    axis_first_sd_nm: float
    axis_second_mean_nm: float
    axis_second_sd_nm: float
    perimeter_mean_nm: float
    perimeter_sd_nm: float


def section_axes(region: np.ndarray, *, spacing_yx: tuple[float, float]) -> tuple[float, float]:
    """Full axis lengths (first >= second, nm) of the ellipse with the region's second moments.

    Each pixel counts as a uniform sy × sx rectangle (its own second moment,
    s²/12 per axis, is added), so a disc of diameter d gives d for both axes.

    Parameters
    ----------
    region : ndarray of bool, shape (Y, X)
    spacing_yx : (sy, sx) in nm
    """
    sy, sx = spacing_yx
    iy, ix = np.nonzero(region)
    if iy.size == 0:
        return (0.0, 0.0)
    y = iy * sy
    x = ix * sx
    cov = np.cov(np.stack([y, x]), bias=True) if iy.size > 1 else np.zeros((2, 2))
    cov = cov + np.diag([sy * sy, sx * sx]) / 12.0
    lam = np.sort(np.linalg.eigvalsh(cov))[::-1].clip(min=0)
    return (4.0 * math.sqrt(lam[0]), 4.0 * math.sqrt(lam[1]))


def _taubin_closed(points: np.ndarray, pairs: int) -> np.ndarray:
    """Taubin smoothing (λ 0.5, μ 0.53) of a closed polygon, applied exactly via its spectrum.

    The umbrella operator of a closed polygon is circulant, so ``pairs``
    shrink/inflate pairs are one filter (1 + λk)(1 − μk) per frequency, with
    k = cos(2πj/n) − 1.
    """
    n = len(points)
    k = np.cos(2 * np.pi * np.fft.rfftfreq(n)) - 1.0
    gain = ((1.0 + 0.5 * k) * (1.0 - 0.53 * k)) ** pairs
    return np.fft.irfft(np.fft.rfft(points, axis=0) * gain[:, None], n=n, axis=0)


def section_perimeter(
    region: np.ndarray, *, spacing_yx: tuple[float, float], smooth_iterations: int = 10
) -> float:
    """Boundary length in nm (outer and hole boundaries) by marching squares at 0.5.

    The closed contours are Taubin-smoothed (``smooth_iterations`` (λ, μ)
    pairs, as the 3D surfaces are), which takes away most of the
    pixel-staircase excess: a pixelated disc of 13 px diameter measures
    within ~2.5 % of its circumference instead of ~7.5 %.

    Parameters
    ----------
    region : ndarray of bool, shape (Y, X)
    spacing_yx : (sy, sx) in nm
    smooth_iterations : int
        0 = the raw marching-squares polygon.
    """
    from skimage.measure import find_contours

    padded = np.pad(np.asarray(region, dtype=np.float32), 1)
    scale = np.asarray(spacing_yx, dtype=np.float64)
    total = 0.0
    for contour in find_contours(padded, 0.5):
        c = contour * scale
        if smooth_iterations and len(c) > 3 and np.allclose(c[0], c[-1]):
            ring = _taubin_closed(c[:-1], smooth_iterations)
            c = np.vstack([ring, ring[:1]])
        d = np.diff(c, axis=0)
        total += float(np.sqrt((d * d).sum(axis=1)).sum())
    return total


def _sd(values: list[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def cross_sections(
    obj: np.ndarray, *, spacing: SpacingLike, smooth_iterations: int = 10
) -> SectionStats:
    """Statistics of the 2D pieces of an object across its Z slices.

    Parameters
    ----------
    obj : ndarray of bool, shape (Z, Y, X)
        The object (typically its bounding-box crop).
    spacing : float or (z, y, x)
        Voxel size in nm; only y and x are used.
    smooth_iterations : int
        Taubin pairs for the perimeters (see :func:`section_perimeter`).

    Returns
    -------
    SectionStats
    """
    sp = check_spacing(spacing, name="spacing")
    syx = (sp[1], sp[2])
    first: list[float] = []
    second: list[float] = []
    perim: list[float] = []
    for z in range(obj.shape[0]):
        plane = obj[z]
        if not plane.any():
            continue
        lab, _ = ndimage.label(plane, structure=_EIGHT)
        for k, sl in enumerate(ndimage.find_objects(lab), 1):
            if sl is None:
                continue
            piece = lab[sl] == k
            a, b = section_axes(piece, spacing_yx=syx)
            first.append(a)
            second.append(b)
            perim.append(
                section_perimeter(piece, spacing_yx=syx, smooth_iterations=smooth_iterations)
            )
    if not first:
        nan = float("nan")
        return SectionStats(0, nan, nan, nan, nan, nan, nan)
    return SectionStats(
        len(first),
        float(np.mean(first)),
        _sd(first),
        float(np.mean(second)),
        _sd(second),
        float(np.mean(perim)),
        _sd(perim),
    )
