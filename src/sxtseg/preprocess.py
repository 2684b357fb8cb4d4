"""Intensity normalisation shared by training and inference (numpy only).

One function, :func:`normalize_slices`, so a model sees the same statistics
when it is trained and when it is used.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CLIP", "normalize_slices"]

#: Normalised values are clipped to ±CLIP robust standard deviations.
CLIP = 8.0


def normalize_slices(data: np.ndarray, *, invert: bool = False) -> np.ndarray:
    """Per-slice robust standardisation.

    Each slice is centred on its median and divided by a robust standard
    deviation (interquartile range / 1.349; the plain SD when the IQR is 0),
    then clipped to ±``CLIP``. Integer and float inputs of any range give the
    same result up to an affine change, so unusual dtypes never yield empty
    output.

    Parameters
    ----------
    data : ndarray, shape (Y, X) or (N, Y, X)
        Slices of any real dtype; NaN is not allowed.
    invert : bool
        Flip the polarity (dense dark <-> dense bright) before standardising.

    Returns
    -------
    ndarray of float32, same shape as ``data``
    """
    arr = np.asarray(data, dtype=np.float32)
    squeeze = arr.ndim == 2
    if squeeze:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"expected (Y, X) or (N, Y, X) slices, got shape {arr.shape}")
    flat = arr.reshape(arr.shape[0], -1)
    q25, q50, q75 = np.percentile(flat, [25, 50, 75], axis=1)
    scale = (q75 - q25) / 1.349
    sd = flat.std(axis=1)
    scale = np.where(scale > 1e-12, scale, np.where(sd > 1e-12, sd, 1.0))
    out = (arr - q50[:, None, None]) / scale[:, None, None]
    if invert:
        out = -out
    np.clip(out, -CLIP, CLIP, out=out)
    out = out.astype(np.float32, copy=False)
    return out[0] if squeeze else out
