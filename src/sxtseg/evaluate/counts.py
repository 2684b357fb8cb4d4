"""Voxel confusion counts and the one rule for ratios with a zero denominator (numpy only).

Every score in :mod:`sxtseg.evaluate` is a :func:`ratio`: ``num / den``, and
when ``den == 0`` it is 1.0 if prediction and truth are both empty (nothing to
find, nothing found) and 0.0 otherwise. This module sits below
:mod:`~sxtseg.evaluate.metrics`, :mod:`~sxtseg.evaluate.boundary`,
:mod:`~sxtseg.evaluate.visible` and :mod:`~sxtseg.evaluate.instances`, which
all use it, so none of them imports another in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Counts", "ratio"]


def ratio(num: float, den: float, *, both_empty: bool) -> float:
    """``num / den``; when ``den == 0``: 1.0 if ``both_empty`` else 0.0."""
    if den > 0:
        return float(num) / float(den)
    return 1.0 if both_empty else 0.0


@dataclass(frozen=True)
class Counts:
    """Confusion counts of a binary prediction (voxels)."""

    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def of(cls, pred: np.ndarray, truth: np.ndarray) -> Counts:
        """Counts of two boolean arrays of the same shape."""
        tp = int(np.count_nonzero(pred & truth))
        npred = int(np.count_nonzero(pred))
        ntrue = int(np.count_nonzero(truth))
        return cls(tp=tp, fp=npred - tp, fn=ntrue - tp, tn=int(pred.size) - npred - ntrue + tp)

    def scores(self) -> dict[str, float]:
        """accuracy, precision, recall, f1 and iou (see the module docstring for 0/0)."""
        empty = self.tp + self.fp + self.fn == 0
        total = self.tp + self.fp + self.fn + self.tn
        return {
            "accuracy": ratio(self.tp + self.tn, total, both_empty=True),
            "precision": ratio(self.tp, self.tp + self.fp, both_empty=empty),
            "recall": ratio(self.tp, self.tp + self.fn, both_empty=empty),
            "f1": ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn, both_empty=empty),
            "iou": ratio(self.tp, self.tp + self.fp + self.fn, both_empty=empty),
        }
