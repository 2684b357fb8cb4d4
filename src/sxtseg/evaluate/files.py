"""Score a prediction file against a ground-truth file (reads with :mod:`sxtseg.io`)."""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.errors import InputError
from sxtseg.evaluate.boundary import boundary_counts
from sxtseg.evaluate.config import EvaluateConfig
from sxtseg.evaluate.instances import DetectionScores, match_instances
from sxtseg.evaluate.metrics import (
    Counts,
    Scores,
    binarize_prediction,
    per_slice_scores,
    truth_mask,
)

__all__ = ["Evaluation", "evaluate_arrays", "evaluate_files", "write_rows_csv"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evaluation:
    """Everything ``sxtseg evaluate`` reports.

    Attributes
    ----------
    scores : Scores
        Voxel-wise (and boundary) scores.
    detection : DetectionScores or None
        Object matching, when asked for.
    per_slice : list of dict or None
        One row per Z slice, when asked for.
    shape : tuple of int
        (Z, Y, X).
    voxel_size : tuple of 3 floats or None
        (z, y, x) nm used for anisotropic boundary distances.
    """

    scores: Scores
    detection: DetectionScores | None
    per_slice: list[dict[str, Any]] | None
    shape: tuple[int, ...]
    voxel_size: tuple[float, float, float] | None

    def to_dict(self) -> dict[str, Any]:
        """One flat JSON-ready dict."""
        out: dict[str, Any] = self.scores.to_dict()
        out["shape"] = list(self.shape)
        out["voxel_size"] = None if self.voxel_size is None else list(self.voxel_size)
        if self.detection is not None:
            out.update(self.detection.to_dict())
        return out


def evaluate_arrays(
    pred: Any,
    truth: Any,
    *,
    config: EvaluateConfig = EvaluateConfig(),
    spacing: Any = None,
    per_slice: bool = False,
) -> Evaluation:
    """Score arrays; see :func:`sxtseg.evaluate.evaluate_masks` for the rules.

    Parameters
    ----------
    pred, truth : array-like, shape (Z, Y, X) or (Y, X)
        Prediction (probabilities, mask or labels) and ground truth (mask or labels).
    config : EvaluateConfig
    spacing : float or 3 floats, optional
        Voxel size (z, y, x) in nm for anisotropic boundary distances.
    per_slice : bool
        Also score each Z slice.
    """
    pred = np.asarray(pred)
    truth = np.asarray(truth)
    if pred.shape != truth.shape:
        raise InputError(f"prediction shape {pred.shape} differs from ground truth {truth.shape}")
    pm = binarize_prediction(pred, threshold=config.threshold)
    tm = truth_mask(truth)
    counts = Counts.of(pm.mask, tm)
    bc = None
    extra: dict[str, Any] = {}
    if config.tolerance is not None:
        bc = boundary_counts(pm.mask, tm, tolerance=config.tolerance, spacing=spacing)
        extra = {"tolerance": float(config.tolerance), **bc.scores()}
    scores = Scores(**counts.scores(), tp=counts.tp, fp=counts.fp, fn=counts.fn, tn=counts.tn,
                    threshold=float(config.threshold), kind=pm.kind, **extra)  # fmt: skip
    detection = None
    if config.instances:
        pred_objects = pred if pm.kind == "labels" else pm.mask
        detection = match_instances(pred_objects, truth, iou=config.iou)
    rows = per_slice_scores(pm.mask, tm, boundary=bc) if per_slice else None
    from sxtseg.types import check_spacing

    vs = None if spacing is None else check_spacing(spacing)
    return Evaluation(scores, detection, rows, tuple(int(s) for s in pred.shape), vs)


def evaluate_files(
    pred_path: str | Path,
    truth_path: str | Path,
    *,
    config: EvaluateConfig = EvaluateConfig(),
    voxel_size: Any = None,
    per_slice_csv: str | Path | None = None,
) -> Evaluation:
    """Read two volumes and score the first against the second.

    Parameters
    ----------
    pred_path, truth_path : str or Path
        Any format :func:`sxtseg.io.read_volume` reads.
    config : EvaluateConfig
    voxel_size : float or 3 floats, optional
        Overrides the headers (only used for anisotropic boundary distances;
        otherwise the truth's header, then the prediction's, is used).
    per_slice_csv : str or Path, optional
        Write one row per Z slice to this CSV file (atomically).
    """
    from sxtseg.io import read_volume
    from sxtseg.types import check_spacing

    pred = read_volume(pred_path)
    truth = read_volume(truth_path)
    if pred.shape != truth.shape:
        raise InputError(
            f"{pred_path} has shape {pred.shape} but {truth_path} has shape {truth.shape}"
        )
    if voxel_size is not None:
        spacing = check_spacing(voxel_size)
    else:
        spacing = truth.voxel_size or pred.voxel_size
        if truth.voxel_size and pred.voxel_size and not np.allclose(
            truth.voxel_size, pred.voxel_size, rtol=1e-3
        ):
            log.warning("voxel sizes differ: prediction %s nm, truth %s nm; using the truth's",
                        pred.voxel_size, truth.voxel_size)  # fmt: skip
    result = evaluate_arrays(np.asarray(pred.data), np.asarray(truth.data), config=config,
                             spacing=spacing, per_slice=per_slice_csv is not None)  # fmt: skip
    if per_slice_csv is not None and result.per_slice is not None:
        write_rows_csv(per_slice_csv, result.per_slice)
    return result


def write_rows_csv(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write dict rows to a CSV file atomically (temporary file + rename)."""
    path = Path(path)
    if not rows:
        raise ValueError("no rows to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            for row in rows:
                writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                                 for k, v in row.items()})  # fmt: skip
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
