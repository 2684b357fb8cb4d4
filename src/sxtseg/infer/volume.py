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
from sxtseg.preprocess import normalize_slices

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
        Has ``predict_label``.
    meta : dict
        Checkpoint metadata (empty for a bare module).
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


def resolve_model(model: Any = "default") -> ResolvedModel:
    """Turn "default", a model folder, a ``LoadedModel`` or a module into a :class:`ResolvedModel`.

    Logs a loud warning when the checkpoint says it is untrained.
    """
    if isinstance(model, ResolvedModel):
        return model
    if isinstance(model, (str, Path)):
        from sxtseg.train.checkpoint import load_model

        loaded = load_model(model, device="cpu")
        res = ResolvedModel(loaded.model, dict(loaded.meta), str(model))
    elif hasattr(model, "model") and hasattr(model, "meta"):  # a LoadedModel
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
    data: np.ndarray, predictor: Predictor, *, axis: int, invert: bool, batch: int | None = None
) -> np.ndarray:
    """Probabilities of ``data`` (Z, Y, X) from planes stacked along ``axis``.

    Returns
    -------
    ndarray of float32, shape (Z, Y, X)
    """
    out = np.empty(data.shape, dtype=np.float32)
    n = data.shape[axis]
    step = batch or 8
    for i in range(0, n, step):
        idx: list[Any] = [slice(None)] * 3
        idx[axis] = slice(i, min(n, i + step))
        planes = np.moveaxis(np.asarray(data[tuple(idx)], dtype=np.float32), axis, 0)
        prob = predictor.predict(normalize_slices(planes, invert=invert))
        out[tuple(idx)] = np.moveaxis(prob, 0, axis)
    return out


def segment_array(
    data: np.ndarray,
    model: Any = "default",
    *,
    config: SegmentConfig | None = None,
    predictor: Predictor | None = None,
) -> np.ndarray:
    """Membrane probabilities of a whole volume held in memory.

    Parameters
    ----------
    data : ndarray, shape (Z, Y, X)
        Tomogram, any real dtype, finite.
    model : "default", model folder, LoadedModel or nn.Module
        The network (``predict_label``).
    config : SegmentConfig, optional
        Tiling, TTA, axes, device...; ``threshold`` is not applied here.
    predictor : Predictor, optional
        Reuse a predictor (its model and config win).

    Returns
    -------
    ndarray of float32, shape (Z, Y, X)
        Probabilities in [0, 1]; threshold with ``>= config.threshold`` for a mask.
    """
    cfg = config or SegmentConfig()
    _check_volume(data)
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"unsupported data type {arr.dtype}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise InputError("the volume holds NaN or Inf values")
    res = resolve_model(model)
    pred = predictor or Predictor(res.module, config=cfg)
    invert = res.invert if cfg.invert is None else cfg.invert
    axes = cfg.plane_axes
    total = np.zeros(arr.shape, dtype=np.float32)
    for name in axes:
        total += predict_planes(arr, pred, axis=PLANE_AXIS[name], invert=invert,
                                batch=cfg.batch_size)  # fmt: skip
    if len(axes) > 1:
        total /= float(len(axes))
    return total
