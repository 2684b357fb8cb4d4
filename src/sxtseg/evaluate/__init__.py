"""Scores of a segmentation against ground truth, and classical baselines (numpy/scipy only).

- :func:`evaluate_masks` — pixel accuracy, precision, recall, F1, IoU at a
  probability threshold (the paper's 0.9), and boundary precision/recall/F1
  within a tolerance in voxels (:mod:`sxtseg.evaluate.boundary`).
- ``ignore=`` (e.g. the simulator's ``flat.mrc``) adds scores on visible
  membranes (``visible_*``) beside the full-truth ones
  (:mod:`sxtseg.evaluate.visible`); ``planar=True`` scores a batch of 2D crops.
- :func:`calibrate_threshold` — the threshold with the best (visible) boundary F1.
- :func:`match_instances` — object matching at IoU >= 0.5, detection precision/recall.
- :func:`evaluate_files` — the same on files; what ``sxtseg evaluate`` runs.
- :func:`otsu_segment`, :func:`random_forest_segment` — baselines
  (:mod:`sxtseg.evaluate.baselines`; the forest needs scikit-learn).

No torch here.
"""

from __future__ import annotations

from sxtseg.evaluate.baselines import (
    ForestConfig,
    RandomForestResult,
    ThresholdResult,
    fit_random_forest,
    otsu_segment,
    predict_random_forest,
    random_forest_segment,
)
from sxtseg.evaluate.boundary import BoundaryCounts, boundary_counts, mask_boundary, near_mask
from sxtseg.evaluate.calibrate import DEFAULT_SWEEP, ThresholdCalibration, calibrate_threshold
from sxtseg.evaluate.config import EvaluateConfig
from sxtseg.evaluate.files import Evaluation, evaluate_arrays, evaluate_files, find_ignore
from sxtseg.evaluate.instances import DetectionScores, label_objects, match_instances
from sxtseg.evaluate.metrics import (
    DEFAULT_THRESHOLD,
    Counts,
    Scores,
    binarize_prediction,
    evaluate_masks,
    per_slice_scores,
    truth_mask,
)
from sxtseg.evaluate.visible import VisibleCounts, ignore_mask, visible_counts

__all__ = [
    "DEFAULT_SWEEP",
    "DEFAULT_THRESHOLD",
    "BoundaryCounts",
    "Counts",
    "DetectionScores",
    "EvaluateConfig",
    "Evaluation",
    "ForestConfig",
    "RandomForestResult",
    "Scores",
    "ThresholdCalibration",
    "ThresholdResult",
    "VisibleCounts",
    "binarize_prediction",
    "boundary_counts",
    "calibrate_threshold",
    "evaluate_arrays",
    "evaluate_files",
    "evaluate_masks",
    "find_ignore",
    "fit_random_forest",
    "ignore_mask",
    "label_objects",
    "mask_boundary",
    "match_instances",
    "near_mask",
    "otsu_segment",
    "per_slice_scores",
    "predict_random_forest",
    "random_forest_segment",
    "truth_mask",
    "visible_counts",
]
