"""In-memory segmentation of a (Z, Y, X) array, and model resolution.

:func:`segment_array` is the reference the streamed :func:`sxtseg.infer.segment_file`
is tested against: same normalisation, same predictor, whole volume in RAM.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from sxtseg.errors import InputError
from sxtseg.infer.config import SegmentConfig
from sxtseg.infer.predict import Predictor
from sxtseg.infer.rescale import PlaneScale, model_pixel_size, plane_scale, rescaled
from sxtseg.model.checkpoint import LoadedModel, load_model
from sxtseg.preprocess import normalize_slices
from sxtseg.types import SpacingLike, Volume, check_spacing

__all__ = [
    "PLANE_AXIS",
    "UNTRAINED_WARNING",
    "ResolvedModel",
    "resolve_model",
    "segment_array",
]

log = logging.getLogger(__name__)

#: Volume axis the planes are stacked along: xy planes along Z (0), xz along Y (1), yz along X (2).
PLANE_AXIS = {"xy": 0, "xz": 1, "yz": 2}

UNTRAINED_WARNING = (
    "the model {source} is an UNTRAINED PLACEHOLDER (meta['trained'] is false): its "
    "masks are meaningless. Train one with 'sxtseg train' and pass --model DIR."
)


@dataclass(frozen=True)
class ResolvedModel:
    """A network with what inference needs to know about it.

    Attributes
    ----------
    module : nn.Module
        Has ``predict_label`` (and ``predict_proba`` for a DoubleDecoderNet).
    meta : dict
        Checkpoint metadata (empty for a bare module); inference reads
        ``trained``, ``normalization``, ``threshold`` and ``pixel_size_nm``.
    source : str
        Where it came from ("default", a folder, or "<module>").
    """

    module: nn.Module
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = "<module>"

    @property
    def trained(self) -> bool:
        """``meta["trained"]``; a bare module counts as trained."""
        return bool(self.meta.get("trained", True))

    @property
    def invert(self) -> bool:
        """``meta["normalization"]["invert"]`` (False when absent)."""
        norm = self.meta.get("normalization") or {}
        return bool(norm.get("invert", False)) if isinstance(norm, dict) else False

    @property
    def threshold(self) -> float | None:
        """``meta["threshold"]``: the calibrated mask threshold on [0, 1] (None when absent)."""
        value = self.meta.get("threshold")
        return None if value is None else float(value)

    @property
    def pixel_size_nm(self) -> float | None:
        """``meta["pixel_size_nm"]``: the XY pixel size (nm) the model works at, or None."""
        value = self.meta.get("pixel_size_nm")
        if value is None:
            return None
        size = float(value)
        if not (np.isfinite(size) and size > 0):
            raise InputError(f"model {self.source}: pixel_size_nm must be > 0, got {value!r}")
        return size


def resolve_model(model: Any = "default") -> ResolvedModel:
    """Turn "default", a model folder, a ``LoadedModel`` or a module into a :class:`ResolvedModel`.

    Logs a loud warning when the checkpoint says it is untrained.
    """
    if isinstance(model, ResolvedModel):
        return model
    if isinstance(model, (str, Path)):
        loaded = load_model(model, device="cpu")
        res = ResolvedModel(loaded.model, dict(loaded.meta), str(model))
    elif isinstance(model, LoadedModel) or (hasattr(model, "model") and hasattr(model, "meta")):
        res = ResolvedModel(model.model, dict(model.meta), str(getattr(model, "path", "<loaded>")))
    elif isinstance(model, nn.Module):
        if not hasattr(model, "predict_label"):
            raise TypeError("the model must have a predict_label(x) method")
        res = ResolvedModel(model)
    else:
        raise TypeError(f"cannot use {type(model).__name__} as a model")
    if not res.trained:
        log.warning(UNTRAINED_WARNING.format(source=res.source))
    return res


def _check_volume(data: Any) -> None:
    shape = tuple(int(n) for n in np.shape(data))
    if len(shape) != 3:
        raise InputError(f"expected a 3D volume (Z, Y, X), got shape {shape}")
    if min(shape) < 1:
        raise InputError(f"empty volume of shape {shape}")


def predict_planes(
    data: np.ndarray, predictor: Predictor, *, axis: int, invert: bool, batch: int | None = None,
    scale: PlaneScale | None = None,
) -> np.ndarray:  # fmt: skip
    """Probabilities of ``data`` (Z, Y, X) from planes stacked along ``axis``.

    ``scale`` (from :func:`sxtseg.infer.rescale.plane_scale`) resamples each
    normalised plane to the model's pixel size and the probabilities back.

    Returns
    -------
    ndarray of float32, shape (Z, Y, X)
    """
    out = np.empty(data.shape, dtype=np.float32)
    n = data.shape[axis]
    step = batch or 8
    predict = rescaled(predictor.predict, scale)
    for i in range(0, n, step):
        idx: list[Any] = [slice(None)] * 3
        idx[axis] = slice(i, min(n, i + step))
        planes = np.moveaxis(np.asarray(data[tuple(idx)], dtype=np.float32), axis, 0)
        prob = predict(normalize_slices(planes, invert=invert))
        out[tuple(idx)] = np.moveaxis(prob, 0, axis)
    return out


def segment_array(
    data: np.ndarray | Volume,
    model: Any = "default",
    *,
    config: SegmentConfig | None = None,
    predictor: Predictor | None = None,
    voxel_size: SpacingLike | None = None,
) -> np.ndarray:
    """Membrane probabilities of a whole volume held in memory.

    Parameters
    ----------
    data : ndarray or Volume, shape (Z, Y, X)
        Tomogram, any real dtype, finite. A :class:`~sxtseg.types.Volume`
        brings its voxel size.
    model : "default", model folder, LoadedModel, ResolvedModel or nn.Module
        The network (``predict_proba`` or ``predict_label``).
    config : SegmentConfig, optional
        Tiling, TTA, axes, device, rescale...; ``threshold`` is not applied here.
    predictor : Predictor, optional
        Reuse a predictor (its model and config win).
    voxel_size : float or (z, y, x), optional
        Voxel size in nm (overrides a Volume's). Needed when the model records
        a pixel size and ``config.rescale`` is on: each plane is then resampled
        to the model's pixel size and the probabilities back, as in
        :func:`sxtseg.infer.segment_file`.

    Returns
    -------
    ndarray of float32, shape (Z, Y, X)
        Probabilities in [0, 1] on the input grid; threshold with
        ``>= config.threshold_for(model threshold)`` for a mask.

    Raises
    ------
    InputError
        Not 3D, not real, NaN/Inf values, or no voxel size for a model with a pixel size.
    """
    cfg = config or SegmentConfig()
    if isinstance(data, Volume):
        voxel_size = data.voxel_size if voxel_size is None else voxel_size
        values = data.data
    else:
        values = data
    spacing = None if voxel_size is None else check_spacing(voxel_size)
    _check_volume(values)
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"unsupported data type {arr.dtype}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise InputError("the volume holds NaN or Inf values")
    res = resolve_model(model)
    pred = predictor or Predictor(res.module, config=cfg)
    invert = res.invert if cfg.invert is None else cfg.invert
    pixel_nm = model_pixel_size(res.pixel_size_nm, spacing, rescale=cfg.rescale,
                                source="the array")  # fmt: skip
    axes = cfg.plane_axes
    shape = (int(arr.shape[0]), int(arr.shape[1]), int(arr.shape[2]))
    total = np.zeros(arr.shape, dtype=np.float32)
    for name in axes:
        axis = PLANE_AXIS[name]
        total += predict_planes(arr, pred, axis=axis, invert=invert, batch=cfg.batch_size,
                                scale=plane_scale(shape, spacing, axis, pixel_nm))  # fmt: skip
    if len(axes) > 1:
        total /= float(len(axes))
    return total
