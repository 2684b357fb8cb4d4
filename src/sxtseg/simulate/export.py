"""Turn a simulation on its isotropic grid into what an instrument exports.

- :func:`bin_xy`: XY binning by an integer factor (volumes with XY coarser than Z,
  e.g. 20 × 20 × 10 nm (x, y, z)): images by the mean, masks by *any*, labels by
  the mode of each block.
- :func:`to_uint8`: an 8-bit export with dense = dark (inverted), scaled between
  two percentiles (0 = min–max).
"""

from __future__ import annotations

import numpy as np

from sxtseg.errors import InputError

__all__ = ["bin_mask", "bin_mean", "bin_mode", "bin_truth", "to_uint8"]


def _blocks(a: np.ndarray, factor: int) -> np.ndarray:
    """View (Z, Y/b, b, X/b, b) of a (Z, Y, X) array whose Y and X are multiples of b."""
    z, y, x = a.shape
    if factor < 1 or y % factor or x % factor:
        raise InputError(f"cannot bin shape {a.shape} by {factor} in Y and X")
    return a.reshape(z, y // factor, factor, x // factor, factor)


def bin_mean(a: np.ndarray, factor: int) -> np.ndarray:
    """Mean over b × b blocks in Y and X, float32 (Z, Y/b, X/b)."""
    if factor == 1:
        return np.asarray(a, dtype=np.float32)
    return _blocks(a, factor).mean(axis=(2, 4), dtype=np.float64).astype(np.float32)


def bin_mask(a: np.ndarray, factor: int) -> np.ndarray:
    """True where any voxel of the b × b block is set, bool (Z, Y/b, X/b)."""
    if factor == 1:
        return np.asarray(a, dtype=bool)
    return np.asarray(_blocks(np.asarray(a, dtype=bool), factor).any(axis=(2, 4)))


def bin_mode(a: np.ndarray, factor: int) -> np.ndarray:
    """The most frequent label of each b × b block (ties: the first in the block).

    Parameters
    ----------
    a : ndarray of int, (Z, Y, X)
    factor : int

    Returns
    -------
    ndarray, same dtype, (Z, Y/b, X/b)
    """
    if factor == 1:
        return np.asarray(a).copy()
    blk = _blocks(np.asarray(a), factor)
    z, ny, _, nx, _ = blk.shape
    cand = blk.transpose(0, 1, 3, 2, 4).reshape(z, ny, nx, factor * factor)
    votes = (cand[..., :, None] == cand[..., None, :]).sum(axis=-1)
    pick = votes.argmax(axis=-1)
    return np.take_along_axis(cand, pick[..., None], axis=-1)[..., 0]


def bin_truth(
    membranes: np.ndarray, flat: np.ndarray, factor: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bin membrane truth and its flat part consistently.

    A binned voxel is membrane if any fine voxel is, and flat if it is membrane
    and none of its fine membrane voxels is visible (flat = binned membranes &
    ~binned visible).

    Parameters
    ----------
    membranes, flat : ndarray 0/1, (Z, Y, X)
    factor : int

    Returns
    -------
    membranes, flat : uint8 0/1, (Z, Y/b, X/b)
    """
    mem = np.asarray(membranes, dtype=bool)
    visible = mem & ~np.asarray(flat, dtype=bool)
    bm = bin_mask(mem, factor)
    bv = bin_mask(visible, factor)
    return bm.astype(np.uint8), (bm & ~bv).astype(np.uint8)


def to_uint8(volume: np.ndarray, *, clip_percent: float = 0.0) -> np.ndarray:
    """8-bit export with inverted polarity: dense (high absorption) = dark (low values).

    Parameters
    ----------
    volume : ndarray float (Z, Y, X)
        Absorption, dense = high.
    clip_percent : float
        Values below the ``clip_percent`` and above the ``100 − clip_percent``
        percentile saturate (0 = min–max scaling).

    Returns
    -------
    ndarray uint8 (Z, Y, X)
        255 at the low end of absorption (ice), 0 at the dense end.
    """
    if not 0.0 <= clip_percent < 50.0:
        raise InputError(f"clip_percent must be in [0, 50), got {clip_percent}")
    a = np.asarray(volume, dtype=np.float32)
    if clip_percent > 0:
        lo, hi = (float(v) for v in np.percentile(a, [clip_percent, 100.0 - clip_percent]))
    else:
        lo, hi = float(a.min()), float(a.max())
    scaled = (np.float32(hi) - a) / np.float32(max(hi - lo, 1e-12)) * np.float32(255.0)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
