"""Voxel-wise scores of a predicted mask against a ground-truth mask (numpy only).

The rule that turns a prediction into a mask (:func:`binarize_prediction`):

- ``bool`` arrays, and integer or float arrays holding only 0 and 1, are masks
  and are used as they are;
- ``uint8`` arrays with values above 1 are probabilities scaled to 0..255
  (``p = v / 255``) and are thresholded;
- other integer arrays (``int8``, ``uint16``, ``int32`` ...) are label or
  instance volumes: every non-zero voxel is foreground;
- float arrays with values in [0, 1] are probabilities and are thresholded;
  float values outside [0, 1] (or NaN) are an error.

A probability counts as foreground when ``p >= threshold`` (default 0.9, the
paper's threshold). The ground truth must be a mask or a label volume
(non-zero = foreground); float ground truth must hold only 0 and 1.

Ratios whose denominator is 0 are 1.0 when prediction and truth are both
empty (nothing to find, nothing found) and 0.0 otherwise
(:func:`sxtseg.evaluate.counts.ratio`, re-exported here with :class:`Counts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from sxtseg.errors import InputError
from sxtseg.evaluate.boundary import boundary_counts
from sxtseg.evaluate.counts import Counts, ratio
from sxtseg.evaluate.visible import ignore_mask, visible_counts
from sxtseg.types import SpacingLike

__all__ = [
    "DEFAULT_THRESHOLD",
    "BinarizedPrediction",
    "Counts",
    "Scores",
    "binarize_prediction",
    "evaluate_masks",
    "per_slice_scores",
    "ratio",
    "truth_mask",
]

#: The paper's threshold on the label output, on the [0, 1] probability scale.
DEFAULT_THRESHOLD = 0.9


class BinarizedPrediction(NamedTuple):
    """A prediction turned into a mask, and how it was read.

    Attributes
    ----------
    mask : ndarray of bool, same shape as the prediction
    kind : str
        ``"mask"``, ``"labels"``, ``"probabilities"`` or ``"probabilities_uint8"``.
    """

    mask: np.ndarray
    kind: str


def _only_zero_one(arr: np.ndarray) -> bool:
    return bool(np.all((arr == 0) | (arr == 1)))


def binarize_prediction(pred: Any, *, threshold: float = DEFAULT_THRESHOLD) -> BinarizedPrediction:
    """Turn a probability map, mask or label volume into a boolean mask.

    Parameters
    ----------
    pred : array-like, shape (Z, Y, X) or (Y, X)
        Probabilities (float in [0, 1] or uint8 0..255), a mask or a label volume.
    threshold : float
        Foreground where ``p >= threshold``; must lie in (0, 1].

    Returns
    -------
    BinarizedPrediction
        ``mask`` (bool, same shape) and ``kind`` (how the input was read).

    Raises
    ------
    InputError
        For float values outside [0, 1], NaN, or a threshold outside (0, 1].
    """
    if not 0.0 < float(threshold) <= 1.0:
        raise InputError(f"threshold must be in (0, 1], got {threshold}")
    arr = np.asarray(pred)
    if arr.dtype == bool:
        return BinarizedPrediction(arr, "mask")
    if np.issubdtype(arr.dtype, np.integer):
        if _only_zero_one(arr):
            return BinarizedPrediction(arr != 0, "mask")
        if arr.dtype == np.uint8:
            # v / 255 >= t  <=>  v >= 255 t (exact in float64)
            return BinarizedPrediction(arr.astype(np.float64) >= 255.0 * threshold,
                                       "probabilities_uint8")
        return BinarizedPrediction(arr != 0, "labels")
    if np.issubdtype(arr.dtype, np.floating):
        if arr.size and not np.all(np.isfinite(arr)):
            raise InputError("prediction holds NaN or infinite values")
        if arr.size and (float(arr.min()) < 0.0 or float(arr.max()) > 1.0):
            raise InputError(
                f"float prediction must be probabilities in [0, 1] (got values "
                f"{float(arr.min()):.4g}..{float(arr.max()):.4g}); "
                "a tanh label output l in [-1, 1] is p = (l + 1) / 2"
            )
        if _only_zero_one(arr):
            return BinarizedPrediction(arr != 0, "mask")
        return BinarizedPrediction(arr >= threshold, "probabilities")
    raise InputError(f"cannot read a prediction of dtype {arr.dtype}")


def truth_mask(truth: Any) -> np.ndarray:
    """Ground truth as a boolean mask (non-zero = foreground).

    Parameters
    ----------
    truth : array-like, shape (Z, Y, X) or (Y, X)
        A mask or label volume; float truth must hold only 0 and 1.

    Returns
    -------
    ndarray of bool, same shape
    """
    arr = np.asarray(truth)
    if arr.dtype == bool:
        return arr
    if np.issubdtype(arr.dtype, np.floating) and not _only_zero_one(arr):
        raise InputError(
            "ground truth must be a mask (0/1) or a label volume, not probabilities "
            f"(float values {float(np.nanmin(arr)):.4g}..{float(np.nanmax(arr)):.4g})"
        )
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InputError(f"cannot read ground truth of dtype {arr.dtype}")
    return arr != 0


@dataclass(frozen=True)
class Scores:
    """Scores of a prediction against ground truth.

    Attributes
    ----------
    accuracy, precision, recall, f1, iou : float
        Voxel-wise scores in [0, 1].
    tp, fp, fn, tn : int
        Voxel counts.
    threshold : float
        Threshold applied to probabilities.
    kind : str
        How the prediction was read (see :func:`binarize_prediction`).
    tolerance : float or None
        Boundary tolerance in voxels; ``None`` when no boundary scores were computed.
    boundary_precision, boundary_recall, boundary_f1 : float or None
        Boundary scores at ``tolerance`` (see :mod:`sxtseg.evaluate.boundary`).
    visible_precision, visible_recall, visible_f1, visible_iou : float or None
        Voxel-wise scores on visible truth (with an ignore mask; see
        :mod:`sxtseg.evaluate.visible`).
    visible_tp, visible_fp, visible_fn, visible_excluded : int or None
        Their voxel counts (``visible_excluded``: predicted voxels near
        ignored truth only, not scored).
    visible_boundary_precision, visible_boundary_recall, visible_boundary_f1 : float or None
        Boundary scores on visible truth (with an ignore mask and a
        tolerance); ``visible_boundary_f1`` at tolerance 2 is the headline number.
    """

    accuracy: float
    precision: float
    recall: float
    f1: float
    iou: float
    tp: int
    fp: int
    fn: int
    tn: int
    threshold: float
    kind: str
    tolerance: float | None = None
    boundary_precision: float | None = None
    boundary_recall: float | None = None
    boundary_f1: float | None = None
    visible_precision: float | None = None
    visible_recall: float | None = None
    visible_f1: float | None = None
    visible_iou: float | None = None
    visible_tp: int | None = None
    visible_fp: int | None = None
    visible_fn: int | None = None
    visible_excluded: int | None = None
    visible_boundary_precision: float | None = None
    visible_boundary_recall: float | None = None
    visible_boundary_f1: float | None = None

    @classmethod
    def of(
        cls, counts: Counts, *, threshold: float, kind: str, extra: Mapping[str, Any] | None = None
    ) -> Scores:
        """The voxel scores of ``counts`` plus boundary and visible entries (``extra``)."""
        values: dict[str, Any] = {**counts.scores(), **asdict(counts), **(extra or {})}
        return cls(threshold=float(threshold), kind=kind, **values)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; boundary keys only with a tolerance, visible keys only with an
        ignore mask."""
        out = asdict(self)
        if self.tolerance is None:
            for key in ("tolerance", "boundary_precision", "boundary_recall", "boundary_f1"):
                out.pop(key)
        for key in [k for k in out if k.startswith("visible_")]:
            if out[key] is None:
                out.pop(key)
        return out


def _check_shapes(pred: np.ndarray, truth: np.ndarray) -> None:
    if pred.shape != truth.shape:
        raise InputError(f"prediction shape {pred.shape} differs from ground truth {truth.shape}")
    if pred.ndim not in (2, 3):
        raise InputError(f"expected a (Y, X) or (Z, Y, X) array, got shape {pred.shape}")


def evaluate_masks(
    pred: Any,
    truth: Any,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    tolerance: float | None = None,
    spacing: SpacingLike | None = None,
    ignore: Any = None,
    planar: bool = False,
) -> Scores:
    """Score a prediction against a ground-truth mask.

    Parameters
    ----------
    pred : array-like, shape (Z, Y, X) or (Y, X)
        Probabilities, mask or label volume (see :func:`binarize_prediction`).
    truth : array-like, same shape
        Ground-truth mask or label volume (non-zero = foreground).
    threshold : float
        Probability threshold (``p >= threshold`` is foreground).
    tolerance : float, optional
        Boundary tolerance in voxels; adds ``boundary_precision``,
        ``boundary_recall`` and ``boundary_f1``.
    spacing : float or 3 floats, optional
        Voxel size (z, y, x) in nm. Only its ratios matter: distances are
        measured in units of the smallest voxel edge, so ``tolerance`` stays
        in voxels. ``None`` = isotropic.
    ignore : array-like, same shape, optional
        Truth voxels not scored (non-zero = ignored; simulator truth:
        ``flat.mrc``). Adds the ``visible_*`` scores beside the full-truth
        ones (:mod:`sxtseg.evaluate.visible`, :mod:`sxtseg.evaluate.boundary`).
    planar : bool
        Treat axis 0 of an (N, H, W) array as N independent 2D images (no
        matching across slices), e.g. a batch of crops.

    Returns
    -------
    Scores

    Raises
    ------
    InputError
        On a shape mismatch or unreadable values.
    """
    pmask = binarize_prediction(pred, threshold=threshold)
    tmask = truth_mask(truth)
    _check_shapes(pmask.mask, tmask)
    counts = Counts.of(pmask.mask, tmask)
    extra: dict[str, Any] = {}
    imask = None if ignore is None else ignore_mask(ignore, tmask.shape)
    if imask is not None:
        v = visible_counts(pmask.mask, tmask, imask, tolerance=tolerance, spacing=spacing,
                           planar=planar)  # fmt: skip
        extra.update(v.scores())
        extra.update(v.totals())
    if tolerance is not None:
        b = boundary_counts(pmask.mask, tmask, tolerance=tolerance, spacing=spacing,
                            ignore=imask, planar=planar)  # fmt: skip
        extra.update({"tolerance": float(tolerance), **b.scores()})
    return Scores.of(counts, threshold=threshold, kind=pmask.kind, extra=extra)


def per_slice_scores(
    pred: np.ndarray,
    truth: np.ndarray,
    *,
    boundary: Any = None,
    visible: Any = None,
) -> list[dict[str, Any]]:
    """Scores of each Z slice, one dict per slice.

    Parameters
    ----------
    pred, truth : ndarray of bool, shape (Z, Y, X)
        Binarised prediction and ground truth.
    boundary : BoundaryCounts, optional
        From :func:`sxtseg.evaluate.boundary.boundary_counts` on the same masks;
        adds the boundary scores of each slice.
    visible : VisibleCounts, optional
        From :func:`sxtseg.evaluate.visible.visible_counts` on the same masks;
        adds the visible voxel scores of each slice.

    Returns
    -------
    list of dict
        Keys ``z, tp, fp, fn, tn, accuracy, precision, recall, f1, iou``
        (+ ``boundary_*``, ``visible_*``).
    """
    pred = np.asarray(pred, dtype=bool)
    truth = np.asarray(truth, dtype=bool)
    _check_shapes(pred, truth)
    if pred.ndim == 2:
        pred, truth = pred[None], truth[None]
    nz = pred.shape[0]
    flat_p, flat_t = pred.reshape(nz, -1), truth.reshape(nz, -1)
    tp = np.count_nonzero(flat_p & flat_t, axis=1)
    npred = np.count_nonzero(flat_p, axis=1)
    ntrue = np.count_nonzero(flat_t, axis=1)
    rows = []
    for z in range(nz):
        c = Counts(
            tp=int(tp[z]),
            fp=int(npred[z] - tp[z]),
            fn=int(ntrue[z] - tp[z]),
            tn=int(flat_p.shape[1] - npred[z] - ntrue[z] + tp[z]),
        )
        row: dict[str, Any] = {"z": z, **asdict(c), **c.scores()}
        if visible is not None:
            row.update(visible.slice_scores(z))
        if boundary is not None:
            row.update(boundary.slice_scores(z))
        rows.append(row)
    return rows
