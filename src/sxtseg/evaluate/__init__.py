"""Scores of a segmentation against ground truth, and classical baselines (numpy/scipy only).

- :func:`evaluate_masks` — pixel accuracy, precision, recall, F1, IoU at a
  probability threshold (the paper's 0.9), and boundary precision/recall/F1
  within a tolerance in voxels (:mod:`sxtseg.evaluate.boundary`).
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
from sxtseg.evaluate.boundary import BoundaryCounts, boundary_counts, mask_boundary
from sxtseg.evaluate.config import EvaluateConfig
from sxtseg.evaluate.files import Evaluation, evaluate_arrays, evaluate_files
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

__all__ = [
    "DEFAULT_THRESHOLD",
    "BoundaryCounts",
    "Counts",
    "DetectionScores",
    "EvaluateConfig",
    "Evaluation",
    "ForestConfig",
    "RandomForestResult",
    "Scores",
    "ThresholdResult",
    "binarize_prediction",
    "boundary_counts",
    "evaluate_arrays",
    "evaluate_files",
    "evaluate_masks",
    "fit_random_forest",
    "label_objects",
    "mask_boundary",
    "match_instances",
    "otsu_segment",
    "per_slice_scores",
    "predict_random_forest",
    "random_forest_segment",
    "truth_mask",
]
