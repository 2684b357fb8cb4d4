"""Training crops at the model's pixel size (numpy only).

A crop of ``crop``×``crop`` pixels at the model's pixel size is cut from a
standardised slice in two steps, so no slice is ever resampled whole:

1. :func:`plan_window` picks the source region that maps onto the crop (the
   crop's extent divided by the zoom, plus a margin for interpolation and the
   anti-aliasing filter) — at random, centred on a given pixel, or centred;
2. :func:`cut_crop` cuts that region (padding where it leaves the slice),
   resamples it with :func:`sxtseg.resample.resample_slices` and trims the
   margin.

Label maps are resampled as float indicators, linearly (anti-aliased when
shrinking), then thresholded:

- ``valid`` (real, not padded pixel) and ``weight`` (pixel counts in the label
  loss): kept where the interpolated value is >= 0.5;
- ``membrane`` (counted membrane pixel): kept where the interpolated value is
  >= 0.5·min(1, zoom). At zoom >= 1 this is the plain half-way threshold (a
  membrane 2 px wide at 20 nm is 4 px wide at 10 nm); when shrinking, a thin
  membrane's anti-aliased peak falls to about the zoom, and the lower
  threshold keeps it present (about one pixel wide) instead of erasing it.
  A pixel that ends up membrane always counts (its weight is set to 1).

A zoom of exactly 1 (no pixel size, or one within
:data:`sxtseg.resample.RESCALE_TOLERANCE` of the data and no jitter) cuts
the window directly, without interpolation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sxtseg.resample import resample_slices

__all__ = ["CropArrays", "Window", "cut_crop", "plan_window"]


@dataclass(frozen=True)
class Window:
    """A source region of a slice and where the crop lies after resampling it.

    Attributes
    ----------
    start : (y, x) int
        First source pixel of the region (may be negative: padded).
    size : (y, x) int
        Source region size (pixels).
    out : (y, x) int
        Size of the region after resampling (pixels at the model's pixel size).
    offset : (y, x) int
        Start of the crop inside the resampled region (the margin).
    crop : int
        Side of the crop (pixels).
    """

    start: tuple[int, int]
    size: tuple[int, int]
    out: tuple[int, int]
    offset: tuple[int, int]
    crop: int

    @property
    def resampled(self) -> bool:
        """True when the region must be interpolated (its size differs from its output)."""
        return self.size != self.out


@dataclass
class CropArrays:
    """One crop, every array (crop, crop).

    Attributes
    ----------
    image : float32
        Standardised image.
    valid : bool
        Real (not padded) pixels.
    membrane, weight : bool or None
        Counted membrane pixels and pixels that count in the label loss
        (None for unlabelled data).
    """

    image: np.ndarray
    valid: np.ndarray
    membrane: np.ndarray | None = None
    weight: np.ndarray | None = None


def _margin(zoom: float) -> int:
    """Margin (source pixels) that interpolation and anti-aliasing read beyond the crop."""
    if zoom >= 1:
        return 2
    sigma = (1.0 / zoom - 1.0) / 2.0
    return 2 + math.ceil(4.0 * sigma)


def _plan_axis(
    n: int, crop: int, zoom: float, rng: np.random.Generator | None, centre: int | None
) -> tuple[int, int, int, int]:
    """(start, size, out, offset) along one axis of ``n`` source pixels."""
    if zoom == 1.0:
        if centre is not None:
            start = int(centre) - crop // 2
        elif n <= crop:
            start = 0
        else:
            start = int(rng.integers(0, n - crop + 1)) if rng is not None else (n - crop) // 2
        return start, crop, crop, 0
    k = math.ceil(_margin(zoom) * zoom)
    out = crop + 2 * k
    size = max(1, round(out / zoom))
    z = out / size  # the exact zoom of this region
    if centre is not None:
        # source coordinate (pixel centres at integers) of output pixel j: start + (j+0.5)/z - 0.5
        real = centre + 0.5 - (k + crop // 2 + 0.5) / z
        start = math.floor(real + 0.5)
        # move the crop by whole output pixels so that its centre pixel covers ``centre``
        return start, size, out, k + round((real - start) * z)
    else:
        room = n - crop / zoom  # source pixels to spare
        if room <= 0:
            s = 0.0
        else:
            s = float(rng.uniform(0.0, room)) if rng is not None else room / 2.0
        real = s - k / z
    return math.floor(real + 0.5), size, out, k


def plan_window(
    shape_yx: tuple[int, int],
    crop: int,
    zoom_yx: tuple[float, float],
    rng: np.random.Generator | None,
    centre_yx: tuple[int, int] | None = None,
) -> Window:
    """Choose the source region of a ``crop``×``crop`` crop at zoom ``zoom_yx``.

    Parameters
    ----------
    shape_yx : (H, W)
        Source slice shape (pixels).
    crop : int
        Crop side at the model's pixel size (pixels).
    zoom_yx : (fy, fx)
        Output pixels per source pixel (> 1 enlarges).
    rng : numpy Generator or None
        Random window inside the slice; None: the centred window.
    centre_yx : (y, x), optional
        Centre the crop on this source pixel instead (the window may then
        leave the slice; what lies outside is padding).

    Returns
    -------
    Window
        A crop larger than the resampled slice starts at its top-left corner.
    """
    ys = _plan_axis(shape_yx[0], crop, float(zoom_yx[0]), rng,
                    None if centre_yx is None else centre_yx[0])  # fmt: skip
    xs = _plan_axis(shape_yx[1], crop, float(zoom_yx[1]), rng,
                    None if centre_yx is None else centre_yx[1])  # fmt: skip
    return Window((ys[0], xs[0]), (ys[1], xs[1]), (ys[2], xs[2]), (ys[3], xs[3]), crop)


def _cut(array: np.ndarray, window: Window, *, reflect: bool) -> np.ndarray:
    """The window's source region of a (Y, X) array; outside: reflected or zero."""
    pads, sl = [], []
    for axis in (0, 1):
        n, a, r = array.shape[axis], window.start[axis], window.size[axis]
        lo, hi = max(0, a), min(n, a + r)
        if hi <= lo:  # plan_window's regions always hold the crop's centre or start
            raise ValueError(f"crop window {window} lies outside a slice of {array.shape}")
        sl.append(slice(lo, hi))
        pads.append((lo - a, a + r - hi))
    region = array[sl[0], sl[1]]
    if not any(p for pair in pads for p in pair):
        return region
    if reflect:
        if min(region.shape) > 1:
            return np.pad(region, pads, mode="reflect")
        return np.pad(region, pads, mode="edge")
    return np.pad(region, pads, constant_values=0)


def cut_crop(
    image: np.ndarray,
    window: Window,
    *,
    membrane: np.ndarray | None = None,
    weight: np.ndarray | None = None,
) -> CropArrays:
    """Cut and resample one crop (see the module notes for the label rules).

    Parameters
    ----------
    image : ndarray (H, W) float32
        The standardised slice.
    window : Window
        From :func:`plan_window`.
    membrane, weight : ndarray (H, W) bool, optional
        Counted membrane pixels and pixels that count in the label loss
        (both or neither).

    Returns
    -------
    CropArrays
        Every array (crop, crop).
    """
    c = window.crop
    img = _cut(image, window, reflect=True)
    valid = _cut(np.ones(image.shape, dtype=bool), window, reflect=False)
    maps = [valid]
    if membrane is not None:
        if weight is None:
            raise ValueError("cut_crop: a membrane map needs its weight map")
        maps += [_cut(membrane, window, reflect=False), _cut(weight, window, reflect=False)]
    oy, ox = window.offset
    trim = (slice(oy, oy + c), slice(ox, ox + c))
    if not window.resampled:  # a zoom that rounds to 1 still carries its margin: trim it
        img = img[trim]
        maps = [m[trim] for m in maps]
    else:
        img = resample_slices(img, window.out, order=1, antialias=True)[trim]
        every_map = (slice(None), *trim)
        stack = resample_slices(np.stack(maps).astype(np.float32), window.out, order=1,
                                antialias=True)[every_map]  # fmt: skip
        zoom = min(window.out[0] / window.size[0], window.out[1] / window.size[1])
        maps = [stack[0] >= 0.5]
        if membrane is not None:
            memb = (stack[1] >= 0.5 * min(1.0, zoom)) & maps[0]
            maps += [memb, ((stack[2] >= 0.5) & maps[0]) | memb]
    out = CropArrays(np.ascontiguousarray(img, dtype=np.float32), maps[0])
    if membrane is not None:
        out.membrane, out.weight = maps[1] & maps[0], maps[2] & maps[0]
    return out
