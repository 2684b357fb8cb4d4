"""The mask threshold on the validation tomograms' own grid, chosen after training.

During training, validation scores centre crops at the model's pixel size.
Masks are made on the input's grid, after ``segment`` resamples the
probabilities back, and there the best threshold is different: upsampling
widens the probability ridges, so a 10 nm input wants a higher threshold than
the 20 nm crops (bundled model on its held-out test tomograms: best 0.45–0.9
for 10 nm inputs, 0.1–0.35 for 20 nm inputs; a 20 nm threshold costs 0.10
visible boundary-F1 at 10 nm).

When any validation tomogram is resampled, :func:`input_grid_threshold`
segments its validation slices whole with the kept model through the
``segment`` callable it is given (the API and the CLI pass
:func:`sxtseg.infer.segment_array`, which this layer may not import), and
picks the threshold with the best mean visible boundary-F1 (tolerance
``config.tolerance`` input voxels; each slice its own 2D image) over the
validation tomograms; :func:`store_threshold` writes it to the model's
``config.json``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.io import open_volume
from sxtseg.io.base import temp_sibling
from sxtseg.train.config import TrainConfig
from sxtseg.train.data import Source, base_zoom, counted_labels

__all__ = [
    "GridThreshold",
    "SliceSegmenter",
    "calibrate_after_training",
    "input_grid_threshold",
    "store_threshold",
]

#: ``segment(model_dir, image, voxel_size) -> probability``: image (N, Y, X)
#: float32 slices, voxel size (z, y, x) nm; probabilities (N, Y, X) in [0, 1]
#: on the image's grid, made as ``sxtseg segment`` makes them.
SliceSegmenter = Callable[[Path, np.ndarray, tuple[float, float, float]], np.ndarray]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GridThreshold:
    """A threshold chosen on the validation slices' own grid.

    Attributes
    ----------
    threshold : float
        Best mean visible boundary-F1 threshold.
    score : float
        That mean.
    thresholds, scores : tuple of float
        The sweep and its mean curve.
    tomograms : tuple of str
        Names of the validation tomograms that took part.
    """

    threshold: float
    score: float
    thresholds: tuple[float, ...]
    scores: tuple[float, ...]
    tomograms: tuple[str, ...]


def _slices(source: Source, zs: list[int], config: TrainConfig) -> tuple[np.ndarray, ...]:
    """(image, visible truth, ignored) of slices ``zs``, each (N, Y, X), as training reads them."""
    with open_volume(source.image) as reader:
        image = np.stack([np.asarray(reader[z], dtype=np.float32) for z in zs])
    assert source.label is not None
    with open_volume(source.label) as reader:
        raw = np.stack([np.asarray(reader[z]) for z in zs])
    flat = None
    if config.ignore_flat and source.ignore is not None:
        with open_volume(source.ignore) as reader:
            flat = np.stack([np.asarray(reader[z]) for z in zs])
    truth, counted = counted_labels(raw, flat, ignore_value=config.ignore_value)
    return image, truth, ~counted


def input_grid_threshold(
    model_dir: Path,
    sources: list[Source],
    items: list[tuple[int, int]],
    config: TrainConfig,
    *,
    pixel_size_nm: float,
    segment: SliceSegmenter,
) -> GridThreshold | None:
    """Calibrate the mask threshold of ``model_dir`` on whole validation slices, input grid.

    Parameters
    ----------
    model_dir : Path
        The kept model.
    sources : list of Source
        Validation tomograms (labelled).
    items : list of (source index, slice index)
        The validation slices.
    config : TrainConfig
        ``tolerance``, ``ignore_value``, ``ignore_flat``.
    pixel_size_nm : float
        The model's pixel size.
    segment : SliceSegmenter
        Makes probabilities with the model in ``model_dir``.

    Returns
    -------
    GridThreshold or None
        None when no validation tomogram is resampled (the crops' threshold
        already holds on the input grid) or none has visible membrane.
    """
    from sxtseg.evaluate import calibrate_threshold

    by_source: dict[int, list[int]] = {}
    for i, z in items:
        by_source.setdefault(i, []).append(z)
    known = {i: zs for i, zs in by_source.items() if sources[i].voxel_yx is not None}
    if not any(base_zoom(sources[i], pixel_size_nm) != (1.0, 1.0) for i in known):
        return None
    curves: list[Any] = []
    names: list[str] = []
    thresholds: tuple[float, ...] = ()
    for i, zs in sorted(known.items()):
        source = sources[i]
        image, truth, ignored = _slices(source, sorted(zs), config)
        if not truth.any():
            continue
        yx = source.voxel_yx
        assert yx is not None
        prob = segment(model_dir, image, (yx[0], yx[0], yx[1]))
        cal = calibrate_threshold(
            np.where(ignored, 0.0, prob).astype(np.float32),
            truth | ignored,
            ignore=ignored,
            tolerance=config.tolerance,
            planar=True,
        )
        curves.append(np.asarray(cal.scores, dtype=float))
        names.append(source.name)
        thresholds = tuple(float(t) for t in cal.thresholds)
    if not curves:
        return None
    mean = np.mean(curves, axis=0)
    best = int(np.argmax(mean))
    return GridThreshold(
        thresholds[best], float(mean[best]), thresholds, tuple(float(v) for v in mean), tuple(names)
    )


def store_threshold(model_dir: Path, grid: GridThreshold, *, method: str | None = None) -> float:
    """Write ``grid.threshold`` as the model's mask threshold; returns the one it replaces.

    ``meta.threshold_calibration`` records how (``method``, default: this
    module's; tomograms, score) and the threshold the crops at the model's
    pixel size gave. The file is replaced atomically.
    """
    path = Path(model_dir) / "config.json"
    doc = json.loads(path.read_text())
    before = float(doc["meta"]["threshold"])
    doc["meta"]["threshold"] = grid.threshold
    doc["meta"]["threshold_calibration"] = {
        "method": method
        or "best mean visible boundary-F1 over the validation tomograms, whole "
        "validation slices segmented on their own grid (probabilities resampled back)",
        "tomograms": list(grid.tomograms),
        "score": grid.score,
        "threshold_at_model_pixel_size": before,
    }
    tmp = temp_sibling(path)
    tmp.write_text(json.dumps(doc, indent=2))
    os.replace(tmp, path)
    log.info(
        "mask threshold on the input grid: %.2f (crops at the model's pixel size: %.2f; "
        "mean visible boundary-F1 %.3f)",
        grid.threshold,
        before,
        grid.score,
    )
    return before


def calibrate_after_training(
    model_dir: Path, data: Any, config: TrainConfig, segment: SliceSegmenter
) -> GridThreshold | None:
    """After the last epoch: the kept model's threshold on the validation slices' own grid.

    Parameters
    ----------
    model_dir : Path
        The kept model (its ``config.json`` is updated when a threshold is chosen).
    data : sxtseg.train.setup.TrainData
        The run's data: validation sources and slices, pixel size, resampling.
    config : TrainConfig
    segment : SliceSegmenter

    Returns
    -------
    GridThreshold or None
        None without ``config.calibrate``, validation or resampling.
    """
    if not (config.calibrate and data.has_val and data.resample and data.pixel_size_nm):
        return None
    sources = data.labeled_sources if data.val_sources is None else data.val_sources
    grid = input_grid_threshold(model_dir, sources, data.val_items, config,
                                pixel_size_nm=data.pixel_size_nm, segment=segment)  # fmt: skip
    if grid is not None:
        store_threshold(model_dir, grid)
    return grid

