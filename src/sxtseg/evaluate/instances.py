"""Object-level detection scores: match predicted to true instances at IoU >= 0.5.

Each pair (predicted object, true object) whose intersection over union is at
least ``iou`` is a candidate; a one-to-one assignment maximising the summed
IoU (:func:`scipy.optimize.linear_sum_assignment`) picks the matches. (Above
IoU 0.5 a match is unique anyway; the assignment only settles exact ties.)
Matched predictions are true positives, the other predictions false
positives, the other true objects false negatives.

A binary mask is turned into objects by its connected components (full
connectivity: 26 neighbours in 3D) with :func:`label_objects`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage as ndi
from scipy.optimize import linear_sum_assignment

from sxtseg.errors import InputError
from sxtseg.evaluate.counts import ratio

__all__ = ["DetectionScores", "label_objects", "match_instances"]


def label_objects(volume: Any) -> np.ndarray:
    """Instance labels of a volume: labels as they are, masks by connected components.

    Parameters
    ----------
    volume : array-like, shape (Z, Y, X) or (Y, X)
        An instance volume (integers, 0 = background) or a mask (bool or 0/1).

    Returns
    -------
    ndarray of int64, same shape; 0 = background.
    """
    arr = np.asarray(volume)
    if arr.dtype == bool or bool(np.all((arr == 0) | (arr == 1))):
        structure = ndi.generate_binary_structure(arr.ndim, arr.ndim)
        labels, _ = ndi.label(arr != 0, structure=structure)
        return labels.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"an instance volume must hold integers, got {arr.dtype}")
    if arr.size and int(arr.min()) < 0:
        raise InputError("an instance volume must not hold negative labels")
    return arr.astype(np.int64)


@dataclass(frozen=True)
class DetectionScores:
    """Object detection scores.

    Attributes
    ----------
    n_pred, n_true : int
        Number of predicted and true objects.
    matched : int
        Matched pairs (true positives); ``n_pred - matched`` false positives,
        ``n_true - matched`` false negatives.
    precision, recall, f1 : float
        Detection precision (matched / n_pred), recall (matched / n_true), F1.
    mean_iou : float
        Mean IoU of the matched pairs (0.0 when none).
    iou_threshold : float
        The IoU a pair needs to match.
    pairs : list of (pred_id, true_id, iou)
        The matches.
    """

    n_pred: int
    n_true: int
    matched: int
    precision: float
    recall: float
    f1: float
    mean_iou: float
    iou_threshold: float
    pairs: list[tuple[int, int, float]] = field(default_factory=list)

    def to_dict(self, *, prefix: str = "detection_") -> dict[str, Any]:
        """Flat JSON-ready dict (without ``pairs``), keys prefixed."""
        d = asdict(self)
        d.pop("pairs")
        return {prefix + k: v for k, v in d.items()}


def match_instances(
    pred_instances: Any, true_instances: Any, *, iou: float = 0.5
) -> DetectionScores:
    """Match predicted to true objects one-to-one at IoU >= ``iou``.

    Parameters
    ----------
    pred_instances, true_instances : array-like, shape (Z, Y, X) or (Y, X)
        Instance volumes (0 = background) or masks (split into connected
        components, see :func:`label_objects`).
    iou : float
        Minimum intersection over union of a match, in (0, 1].

    Returns
    -------
    DetectionScores
    """
    if not 0.0 < float(iou) <= 1.0:
        raise ValueError(f"iou must be in (0, 1], got {iou}")
    pred = label_objects(pred_instances)
    true = label_objects(true_instances)
    if pred.shape != true.shape:
        raise InputError(f"prediction shape {pred.shape} differs from ground truth {true.shape}")
    p_ids, p_sizes = np.unique(pred[pred > 0], return_counts=True)
    t_ids, t_sizes = np.unique(true[true > 0], return_counts=True)
    both = (pred > 0) & (true > 0)
    pairs: list[tuple[int, int, float]] = []
    if both.any():
        pi = np.searchsorted(p_ids, pred[both])
        ti = np.searchsorted(t_ids, true[both])
        key = pi.astype(np.int64) * len(t_ids) + ti
        keys, inter = np.unique(key, return_counts=True)
        kp, kt = keys // len(t_ids), keys % len(t_ids)
        union = p_sizes[kp] + t_sizes[kt] - inter
        ious = inter / union
        ok = ious >= float(iou) - 1e-12
        if ok.any():
            kp, kt, ious = kp[ok], kt[ok], ious[ok]
            rows, rinv = np.unique(kp, return_inverse=True)
            cols, cinv = np.unique(kt, return_inverse=True)
            cost = np.zeros((len(rows), len(cols)))
            cost[rinv, cinv] = -ious
            r, c = linear_sum_assignment(cost)
            for i, j in zip(r, c, strict=True):
                if cost[i, j] < 0:
                    pairs.append((int(p_ids[rows[i]]), int(t_ids[cols[j]]), float(-cost[i, j])))
    n_pred, n_true, m = len(p_ids), len(t_ids), len(pairs)
    empty = n_pred == 0 and n_true == 0
    prec = ratio(m, n_pred, both_empty=empty)
    rec = ratio(m, n_true, both_empty=empty)
    f1 = ratio(2 * m, n_pred + n_true, both_empty=empty)
    return DetectionScores(
        n_pred=n_pred,
        n_true=n_true,
        matched=m,
        precision=prec,
        recall=rec,
        f1=f1,
        mean_iou=float(np.mean([p[2] for p in pairs])) if pairs else 0.0,
        iou_threshold=float(iou),
        pairs=pairs,
    )
