"""Choose the probability threshold that maximises boundary F1 (numpy/scipy only).

:func:`calibrate_threshold` sweeps thresholds (default 0.05, 0.10 ... 0.95)
and returns the one with the best boundary F1 at the tolerance: on visible
truth with an ``ignore`` mask (the project's headline number), else on the
full truth. The counts equal those of :func:`sxtseg.evaluate.boundary_counts`
on ``prob >= t`` for every ``t``, but the truth's distance transforms are
computed once for the whole sweep:

- a voxel ``v`` is a predicted boundary voxel at ``t`` exactly when
  ``nbmin(v) < t <= p(v)``, where ``nbmin`` is the smallest probability of
  its face-neighbours (the array edge counts as foreground), so predicted
  boundary counts near / away from truth follow from two sorted arrays;
- a true boundary voxel is matched at ``t`` when one of the voxels within
  the tolerance (a fixed set of offsets) is a predicted boundary voxel at ``t``.

Arrays are held in memory: this is meant for validation crops and slices,
not whole tomograms.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from scipy import ndimage as ndi

from sxtseg.errors import InputError
from sxtseg.evaluate.boundary import BoundaryCounts, check_tolerance, mask_boundary, sampling_of
from sxtseg.evaluate.boundary import near_mask as _near_mask
from sxtseg.evaluate.metrics import binarize_prediction, truth_mask
from sxtseg.types import SpacingLike

__all__ = ["DEFAULT_SWEEP", "ThresholdCalibration", "calibrate_threshold"]

#: Default thresholds of the sweep: 0.05, 0.10 ... 0.95.
DEFAULT_SWEEP: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20))

#: Gathered (true boundary voxel, offset) pairs per chunk.
_CHUNK = 4_000_000

#: Up to this many offsets within the tolerance, "near" is a dilation, not a distance transform.
_MAX_FOOTPRINT = 64


class ThresholdCalibration(NamedTuple):
    """Result of :func:`calibrate_threshold`.

    Attributes
    ----------
    threshold : float
        The best threshold (the lowest one among ties).
    score : float
        Boundary F1 at it: ``visible_boundary_f1`` with an ignore mask, else ``boundary_f1``.
    thresholds : list of float
        The sweep, ascending.
    scores, precisions, recalls : list of float
        Boundary F1, precision and recall at each threshold.
    visible : bool
        Whether the scores are on visible truth.
    """

    threshold: float
    score: float
    thresholds: list[float]
    scores: list[float]
    precisions: list[float]
    recalls: list[float]
    visible: bool


def _values(prob: Any) -> tuple[np.ndarray, float]:
    """Probability values and the factor thresholds are scaled by (uint8: 255)."""
    arr = np.asarray(prob)
    kind = binarize_prediction(arr, threshold=1.0).kind
    if kind == "labels":
        raise InputError("threshold calibration needs probabilities, not a label volume")
    if arr.dtype == np.uint8 and kind == "probabilities_uint8":
        return arr.astype(np.float64), 255.0
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
    return arr, 1.0


def _neighbour_min(values: np.ndarray, planar: bool) -> np.ndarray:
    """Smallest face-neighbour value of each voxel; +inf beyond the array edge."""
    out = np.full(values.shape, np.inf, dtype=values.dtype)
    for ax in range(1 if planar else 0, values.ndim):
        n = values.shape[ax]
        if n < 2:
            continue
        lo = [slice(None)] * values.ndim
        hi = [slice(None)] * values.ndim
        lo[ax], hi[ax] = slice(0, n - 1), slice(1, n)
        np.minimum(out[tuple(lo)], values[tuple(hi)], out=out[tuple(lo)])
        np.minimum(out[tuple(hi)], values[tuple(lo)], out=out[tuple(hi)])
    return out


def _offsets(tol: float, sampling: tuple[float, ...] | None, planar: bool) -> np.ndarray:
    """Integer (dz, dy, dx) offsets within ``tol`` (units of the smallest voxel edge)."""
    s = np.ones(3) if sampling is None else np.asarray(sampling, dtype=np.float64)
    if planar:
        s = np.concatenate([[np.inf], s[-2:]])
    r = [0 if not np.isfinite(e) else int(np.floor(tol / e + 1e-9)) for e in s]
    grid = np.stack(np.meshgrid(*(np.arange(-k, k + 1) for k in r), indexing="ij"), -1)
    grid = grid.reshape(-1, 3)
    d2 = ((grid * np.where(np.isfinite(s), s, 0.0)) ** 2).sum(axis=1)
    return grid[np.sqrt(d2) <= tol + 1e-9]  # the same rule as the distance transform


def _count_ge(vals: np.ndarray, t: np.ndarray) -> np.ndarray:
    """How many of ``vals`` are >= each of the ascending thresholds ``t``."""
    k = np.searchsorted(t, vals, side="right")  # thresholds <= each value
    hist = np.bincount(k, minlength=t.size + 1)
    return np.cumsum(hist[::-1])[::-1][1:].astype(np.int64)


def _pred_counts(p: np.ndarray, m: np.ndarray, sel: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Predicted boundary voxels among ``sel`` at each threshold (nbmin < t <= p)."""
    cand = sel & (m < p) & (p >= t[0]) & (m < t[-1])
    return _count_ge(p[cand], t) - _count_ge(m[cand], t)


def _near(target: np.ndarray, offsets: np.ndarray, opts: dict[str, Any]) -> np.ndarray:
    """Voxels within the tolerance of ``target``: a dilation by ``offsets`` when they are
    few, else the distance transform (the same set either way)."""
    if offsets.shape[0] > _MAX_FOOTPRINT:
        return _near_mask(target, **opts)
    if not target.any():
        return np.zeros(target.shape, dtype=bool)
    r = np.abs(offsets).max(axis=0)
    footprint = np.zeros(tuple(2 * r + 1), dtype=bool)
    footprint[tuple((offsets + r).T)] = True
    return ndi.binary_dilation(target, structure=footprint)


def _true_matched(
    p: np.ndarray, m: np.ndarray, targets: np.ndarray, offsets: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """True boundary voxels (``targets``) with a predicted boundary voxel within the offsets."""
    pad = np.abs(offsets).max(axis=0)
    widths = [(int(k), int(k)) for k in pad]
    hi = np.pad(p, widths, constant_values=-np.inf).ravel()
    lo = np.pad(m, widths, constant_values=np.inf).ravel()
    shape = tuple(n + 2 * k for n, k in zip(p.shape, pad, strict=True))
    deltas = np.ravel_multi_index((offsets + pad).T, shape) - np.ravel_multi_index(pad, shape)
    idx = np.ravel_multi_index((np.argwhere(targets) + pad).T, shape)
    out = np.zeros(t.size, dtype=np.int64)
    step = max(1, _CHUNK // max(1, deltas.size))
    for i in range(0, idx.size, step):
        nb = idx[i : i + step, None] + deltas[None, :]
        lo_c, hi_c = lo[nb], hi[nb]
        for j, tj in enumerate(t):
            out[j] += int(np.count_nonzero(((lo_c < tj) & (hi_c >= tj)).any(axis=1)))
    return out


def calibrate_threshold(
    prob: Any,
    truth: Any,
    *,
    ignore: Any = None,
    tolerance: float = 2.0,
    thresholds: Any = None,
    spacing: SpacingLike | None = None,
    planar: bool = False,
) -> ThresholdCalibration:
    """Sweep probability thresholds and pick the one with the best boundary F1.

    Parameters
    ----------
    prob : array-like, shape (Z, Y, X), (N, H, W) or (Y, X)
        Probabilities (float in [0, 1], or uint8 0..255 read as ``v / 255``).
    truth : array-like, same shape
        Ground-truth mask or label volume (non-zero = foreground).
    ignore : array-like, same shape, optional
        Truth voxels not scored (simulator truth: ``flat.mrc``); the score is
        then ``visible_boundary_f1``.
    tolerance : float
        Boundary tolerance in voxels (default 2, the headline number).
    thresholds : sequence of float, optional
        Thresholds in (0, 1] (default 0.05, 0.10 ... 0.95); sorted here.
    spacing : float or 3 floats, optional
        Voxel size (z, y, x) in nm; only ratios matter.
    planar : bool
        Treat axis 0 of an (N, H, W) array as N independent 2D images (a batch of crops).

    Returns
    -------
    ThresholdCalibration
        Its counts equal :func:`~sxtseg.evaluate.boundary_counts` on ``prob >= t``.
    """
    from sxtseg.evaluate.visible import ignore_mask

    tol = check_tolerance(tolerance)
    values, scale = _values(prob)
    tmask = truth_mask(truth)
    if values.shape != tmask.shape:
        raise InputError(f"prediction shape {values.shape} differs from ground truth {tmask.shape}")
    imask = None if ignore is None else ignore_mask(ignore, tmask.shape)
    if values.ndim == 2:
        values, tmask, planar = values[None], tmask[None], True
        imask = None if imask is None else imask[None]
    if values.ndim != 3:
        raise InputError(f"expected a (Y, X) or (Z, Y, X) array, got shape {values.shape}")
    ts = sorted({float(t) for t in (DEFAULT_SWEEP if thresholds is None else thresholds)})
    if not ts or not all(0.0 < t <= 1.0 for t in ts):
        raise ValueError(f"thresholds must lie in (0, 1], got {thresholds}")
    t_eff = np.asarray([t * scale for t in ts], dtype=values.dtype)

    tb = mask_boundary(tmask, planar=planar)
    targets = tb if imask is None else tb & ~imask
    offsets = _offsets(tol, sampling_of(spacing, 2 if planar else 3), planar)
    near_opts = {"tolerance": tol, "spacing": spacing, "planar": planar}
    near_t = _near(tb, offsets, near_opts)
    near_v = near_t if imask is None else _near(targets, offsets, near_opts)
    m = _neighbour_min(values, planar)
    pb = _pred_counts(values, m, np.ones(values.shape, dtype=bool), t_eff)
    hits = _pred_counts(values, m, near_v, t_eff)
    ignored = np.zeros_like(pb)
    if imask is not None:
        ignored = _pred_counts(values, m, near_t & ~near_v, t_eff)
    tm = _true_matched(values, m, targets, offsets, t_eff)
    n_true = int(np.count_nonzero(targets))
    rows = [BoundaryCounts._scores(int(pb[j] - ignored[j]), int(hits[j]), n_true, int(tm[j]))
            for j in range(len(ts))]  # fmt: skip
    scores = [r["boundary_f1"] for r in rows]
    best = int(np.argmax(scores))
    return ThresholdCalibration(
        threshold=ts[best],
        score=scores[best],
        thresholds=ts,
        scores=scores,
        precisions=[r["boundary_precision"] for r in rows],
        recalls=[r["boundary_recall"] for r in rows],
        visible=imask is not None,
    )
