"""Score a prediction file against a ground-truth file (reads with :mod:`sxtseg.io`).

A ``flat.*`` file beside the truth (the simulator's flat membranes, hidden by
the missing wedge) is used as the ignore mask unless told otherwise
(:func:`find_ignore`); the scores then include ``visible_*`` keys.
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
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
from sxtseg.evaluate.visible import ignore_mask, visible_counts
from sxtseg.types import Spacing, SpacingLike

__all__ = ["Evaluation", "evaluate_arrays", "evaluate_files", "find_ignore", "write_rows_csv"]

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
    ignore : str or None
        Path of the ignore mask used (``"array"`` for one given as an array), or None.
    """

    scores: Scores
    detection: DetectionScores | None
    per_slice: list[dict[str, Any]] | None
    shape: tuple[int, ...]
    voxel_size: tuple[float, float, float] | None
    ignore: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """One flat JSON-ready dict."""
        out: dict[str, Any] = self.scores.to_dict()
        out["shape"] = list(self.shape)
        out["voxel_size"] = None if self.voxel_size is None else list(self.voxel_size)
        out["ignore"] = self.ignore
        if self.detection is not None:
            out.update(self.detection.to_dict())
        return out


def evaluate_arrays(
    pred: Any,
    truth: Any,
    *,
    config: EvaluateConfig = EvaluateConfig(),
    spacing: SpacingLike | None = None,
    per_slice: bool = False,
    ignore: Any = None,
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
    ignore : array-like, same shape, optional
        Truth voxels not scored (non-zero = ignored); adds the ``visible_*`` scores.

    Returns
    -------
    Evaluation
    """
    pred = np.asarray(pred)
    truth = np.asarray(truth)
    if pred.shape != truth.shape:
        raise InputError(f"prediction shape {pred.shape} differs from ground truth {truth.shape}")
    pm = binarize_prediction(pred, threshold=config.threshold)
    tm = truth_mask(truth)
    counts = Counts.of(pm.mask, tm)
    bc = vc = None
    extra: dict[str, Any] = {}
    imask = None if ignore is None else ignore_mask(ignore, tm.shape)
    if imask is not None:
        vc = visible_counts(pm.mask, tm, imask, tolerance=config.tolerance, spacing=spacing,
                            planar=config.planar)  # fmt: skip
        extra.update({**vc.scores(), **vc.totals()})
    if config.tolerance is not None:
        bc = boundary_counts(pm.mask, tm, tolerance=config.tolerance, spacing=spacing,
                             ignore=imask, planar=config.planar)  # fmt: skip
        extra.update({"tolerance": float(config.tolerance), **bc.scores()})
    scores = Scores.of(counts, threshold=config.threshold, kind=pm.kind, extra=extra)
    detection = None
    if config.instances:
        pred_objects = pred if pm.kind == "labels" else pm.mask
        detection = match_instances(pred_objects, truth, iou=config.iou)
    rows = per_slice_scores(pm.mask, tm, boundary=bc, visible=vc) if per_slice else None
    from sxtseg.types import check_spacing

    vs = None if spacing is None else check_spacing(spacing)
    return Evaluation(scores, detection, rows, tuple(int(s) for s in pred.shape), vs,
                      None if imask is None else "array")  # fmt: skip


def find_ignore(truth_path: str | Path) -> Path | None:
    """The ``flat.*`` file beside a truth file (the simulator's flat membranes), if any.

    Parameters
    ----------
    truth_path : str or Path

    Returns
    -------
    Path or None
        ``flat.mrc`` is preferred when several ``flat.*`` exist; the truth
        file itself is never returned.
    """
    truth_path = Path(truth_path)
    found = [p for p in sorted(truth_path.parent.glob("flat.*"))
             if p.resolve() != truth_path.resolve()]  # fmt: skip
    found.sort(key=lambda p: p.suffix.lower() != ".mrc")
    return found[0] if found else None


def evaluate_files(
    pred_path: str | Path,
    truth_path: str | Path,
    *,
    config: EvaluateConfig = EvaluateConfig(),
    voxel_size: SpacingLike | None = None,
    per_slice_csv: str | Path | None = None,
    ignore: str | Path | None = None,
    auto_ignore: bool = True,
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
    ignore : str or Path, optional
        An ignore mask file (non-zero = truth not scored); adds the ``visible_*`` scores.
    auto_ignore : bool
        Without ``ignore``: use a ``flat.*`` file beside the truth when it has
        the truth's shape (:func:`find_ignore`).

    Returns
    -------
    Evaluation
        ``ignore`` holds the path of the ignore mask used.
    """
    from sxtseg.io import read_volume
    from sxtseg.types import check_spacing

    pred = read_volume(pred_path)
    truth = read_volume(truth_path)
    if pred.shape != truth.shape:
        raise InputError(
            f"{pred_path} has shape {pred.shape} but {truth_path} has shape {truth.shape}"
        )
    spacing: Spacing | None
    if voxel_size is not None:
        spacing = check_spacing(voxel_size)
    else:
        spacing = truth.voxel_size or pred.voxel_size
        if truth.voxel_size and pred.voxel_size and not np.allclose(
            truth.voxel_size, pred.voxel_size, rtol=1e-3
        ):
            log.warning("voxel sizes differ: prediction %s nm, truth %s nm; using the truth's",
                        pred.voxel_size, truth.voxel_size)  # fmt: skip
    ignore_path, ignore_data = _read_ignore(truth_path, truth.shape, ignore, auto_ignore)
    result = evaluate_arrays(np.asarray(pred.data), np.asarray(truth.data), config=config,
                             spacing=spacing, per_slice=per_slice_csv is not None,
                             ignore=ignore_data)  # fmt: skip
    result = replace(result, ignore=None if ignore_path is None else str(ignore_path))
    if per_slice_csv is not None and result.per_slice is not None:
        write_rows_csv(per_slice_csv, result.per_slice)
    return result


def _read_ignore(
    truth_path: str | Path, shape: tuple[int, ...], ignore: str | Path | None, auto: bool
) -> tuple[Path | None, np.ndarray | None]:
    """The ignore mask file to use and its data (None, None when there is none)."""
    from sxtseg.io import read_volume

    if ignore is not None:
        vol = read_volume(ignore)
        if vol.shape != tuple(shape):
            raise InputError(f"ignore mask {ignore} has shape {vol.shape}, truth has {shape}")
        return Path(ignore), np.asarray(vol.data)
    path = find_ignore(truth_path) if auto else None
    if path is None:
        return None, None
    try:
        vol = read_volume(path)
    except Exception as exc:  # an unreadable neighbour is skipped, not fatal
        log.warning("not using %s as the ignore mask: %s", path, exc)
        return None, None
    if vol.shape != tuple(shape):
        log.warning("not using %s as the ignore mask: shape %s, truth %s", path, vol.shape, shape)
        return None, None
    log.info("ignore mask (flat membranes): %s", path)
    return path, np.asarray(vol.data)


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
