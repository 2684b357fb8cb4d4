"""The cell mask: the dense connected region of the specimen (numpy/scipy).

Membrane predictions in the ice or buffer around a cell are the other main
source of false positives named by the paper. The cell is the large dense
region of the tomogram: smooth, threshold (Otsu), keep the largest connected
component, fill its holes, grow it a little. The work runs on a binned copy
(at most ``max_voxels`` voxels), read slab by slab, so a memory-mapped
tomogram larger than RAM costs one slab plus the binned copy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from sxtseg.types import check_spacing

__all__ = ["bin_volume", "cell_mask", "otsu_threshold"]


def otsu_threshold(values: np.ndarray, *, bins: int = 256) -> float:
    """Otsu's threshold of finite ``values`` (any shape): maximises between-class variance."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("no finite values")
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        return lo
    hist, edges = np.histogram(v, bins=bins, range=(lo, hi))
    centers = 0.5 * (edges[:-1] + edges[1:])
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    s0 = np.cumsum(hist * centers)
    m0 = s0 / np.maximum(w0, 1)
    m1 = (s0[-1] - s0) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    return float(centers[int(np.argmax(between[:-1]))])


def bin_volume(data: Any, factor: int, *, slab: int = 64) -> np.ndarray:
    """Block-mean ``data`` (Z, Y, X) by an integer ``factor`` on every axis.

    ``data`` may be any sliceable array-like (e.g. a memory map); it is read
    ``slab`` × ``factor`` slices at a time. Edge blocks are averaged over the
    voxels they hold.

    Returns
    -------
    ndarray of float32, shape (ceil(Z/f), ceil(Y/f), ceil(X/f))
    """
    f = int(factor)
    if f < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    z, y, x = (int(n) for n in data.shape)
    oz, oy, ox = -(-z // f), -(-y // f), -(-x // f)
    out = np.empty((oz, oy, ox), dtype=np.float32)
    step = max(1, slab) * f
    for z0 in range(0, z, step):
        block = np.asarray(data[z0 : z0 + step], dtype=np.float32)
        nz = block.shape[0]
        pz, py, px = (-nz) % f, (-y) % f, (-x) % f
        ones = np.ones(block.shape, dtype=np.float32)
        if pz or py or px:
            block = np.pad(block, ((0, pz), (0, py), (0, px)))
            ones = np.pad(ones, ((0, pz), (0, py), (0, px)))
        shape = (block.shape[0] // f, f, oy, f, ox, f)
        sums = block.reshape(shape).sum(axis=(1, 3, 5))
        counts = ones.reshape(shape).sum(axis=(1, 3, 5))
        out[z0 // f : z0 // f + sums.shape[0]] = sums / counts
    return out


def cell_mask(
    tomogram: Any,
    *,
    spacing: Sequence[float],
    smooth_nm: float = 100.0,
    dilate_nm: float = 200.0,
    invert: bool = False,
    max_voxels: int = 1 << 21,
) -> np.ndarray:
    """Mask of the dense connected region of the specimen (the cell).

    Parameters
    ----------
    tomogram : array-like, shape (Z, Y, X)
        Reconstructed absorption (dense = high unless ``invert``); a memory map works.
    spacing : (z, y, x) float
        Voxel size in nm.
    smooth_nm : float
        Gaussian sigma in nm applied before thresholding.
    dilate_nm : float
        Grow the mask by this distance in nm (membranes on the cell surface stay in).
    invert : bool
        Dense material is dark in this tomogram.
    max_voxels : int
        The work runs on a copy binned by an integer factor to at most this many voxels.

    Returns
    -------
    ndarray of bool, shape (Z, Y, X)
        True inside the cell. All False when the volume is constant.
    """
    shape = tuple(int(n) for n in tomogram.shape)
    if len(shape) != 3:
        raise ValueError(f"expected a (Z, Y, X) tomogram, got shape {shape}")
    sp = np.asarray(check_spacing(spacing, name="spacing"), dtype=np.float64)
    factor = max(1, math.ceil((math.prod(shape) / max(1, max_voxels)) ** (1.0 / 3.0) - 1e-9))
    small = bin_volume(tomogram, factor)
    if not np.all(np.isfinite(small)):
        raise ValueError("tomogram holds NaN or Inf values")
    bsp = sp * factor
    if smooth_nm > 0:
        small = ndimage.gaussian_filter(small, sigma=tuple(smooth_nm / bsp), mode="nearest")
    if invert:
        small = -small
    if float(small.max()) <= float(small.min()):
        return np.zeros(shape, dtype=bool)
    dense = small > otsu_threshold(small)
    labels, n = ndimage.label(dense)
    if n == 0:
        return np.zeros(shape, dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    cell = labels == int(np.argmax(sizes))
    cell = ndimage.binary_fill_holes(cell)
    if dilate_nm > 0:
        cell = ndimage.distance_transform_edt(~cell, sampling=tuple(bsp)) <= dilate_nm
    if factor > 1:
        idx = [np.arange(n) // factor for n in shape]
        cell = cell[np.ix_(*idx)]
    return np.ascontiguousarray(cell, dtype=bool)
