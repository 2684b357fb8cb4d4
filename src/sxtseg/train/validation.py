"""Validation after each epoch: loss, scores, visible boundary-F1, threshold, selection.

:func:`evaluate` runs the model over the validation batches and returns
:class:`~sxtseg.train.metrics.ValidationScores`, including the visible
boundary-F1 (tolerance ``config.tolerance`` px; every crop an independent 2D
image; pixels of weight 0 — unlabelled, flat or padding — ignored) at the
threshold calibrated on those crops (``config.calibrate``) or at
``config.threshold``. :func:`selection_key` orders epochs for checkpoint
selection and early stopping (``config.select_by``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
from typing import Any

import numpy as np
import torch

from sxtseg.model import DoubleDecoderNet
from sxtseg.train.config import TrainConfig
from sxtseg.train.losses import labeled_loss
from sxtseg.train.metrics import MetricAccumulator, ValidationScores

__all__ = ["autocast", "boundary_scores", "evaluate", "selection_key", "to_device"]

log = logging.getLogger(__name__)


def autocast(device: torch.device, amp: str) -> contextlib.AbstractContextManager[Any]:
    """bf16/fp16 autocast as ``amp`` says ("auto": bf16 on CUDA, off elsewhere)."""
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return contextlib.nullcontext()
    dtype = torch.float16 if amp == "fp16" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype)


def to_device(
    batch: dict[str, torch.Tensor], device: torch.device, channels_last: bool
) -> dict[str, torch.Tensor]:
    """Move a batch of (B, 1, H, W) tensors to ``device`` (optionally channels_last)."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return {k: v.to(device, non_blocking=True, memory_format=fmt) for k, v in batch.items()}


def boundary_scores(
    prob: np.ndarray,
    truth: np.ndarray,
    ignore: np.ndarray,
    *,
    tolerance: float,
    calibrate: bool,
    threshold: float,
) -> tuple[float, float]:
    """Visible boundary-F1 of validation crops and the threshold it was reached at.

    Parameters
    ----------
    prob : ndarray of float, shape (N, H, W)
        Membrane probability of N crops.
    truth : ndarray of bool, shape (N, H, W)
        Visible, counted membrane pixels.
    ignore : ndarray of bool, shape (N, H, W)
        Pixels that do not count (weight 0).
    tolerance : float
        Boundary tolerance in pixels.
    calibrate : bool
        Sweep thresholds and keep the best; otherwise score ``threshold`` only.
    threshold : float
        The fixed threshold (and the fallback when nothing can be calibrated).

    Returns
    -------
    (boundary_f1, threshold)
        NaN and ``threshold`` when the crops hold no visible membrane.
    """
    from sxtseg.evaluate import calibrate_threshold

    if not truth.any():
        return float("nan"), threshold
    # No prediction where nothing is known (unlabelled, flat or padding), and
    # predictions within the tolerance of such pixels (but not of visible
    # truth) are left out: they are passed as ignored truth.
    result = calibrate_threshold(
        np.where(ignore, 0.0, prob).astype(np.float32), truth | ignore, ignore=ignore,
        tolerance=tolerance, thresholds=None if calibrate else [threshold], planar=True,
    )  # fmt: skip
    return float(result.score), float(result.threshold)


@torch.no_grad()
def evaluate(
    model: DoubleDecoderNet,
    loader: Any,
    config: TrainConfig,
    *,
    device: torch.device,
    channels_last: bool = False,
) -> ValidationScores:
    """Validation loss and scores over ``loader`` (labelled batches).

    Parameters
    ----------
    model : DoubleDecoderNet
    loader : iterable of batches, or None
        Batches of (B, 1, H, W) tensors with ``image``, ``target``, ``valid``,
        ``label`` and ``weight``. None gives all-NaN scores.
    config : TrainConfig
        Loss settings, ``threshold`` (the fixed-threshold scores),
        ``tolerance`` and ``calibrate`` (boundary-F1).
    device : torch.device
    channels_last : bool

    Returns
    -------
    ValidationScores
        ``f1`` etc. at ``config.threshold``; ``boundary_f1`` at ``threshold``
        (calibrated when ``config.calibrate``).
    """
    if loader is None:
        return ValidationScores()
    model.eval()
    acc = MetricAccumulator(threshold=config.threshold, keep_maps=True)
    for raw in loader:
        batch = to_device(raw, device, channels_last)
        with autocast(device, config.amp):
            out = model(batch["image"])
        loss, _ = labeled_loss(
            out.label.float(), None if out.image is None else out.image.float(), batch,
            label_weight=config.label_weight, image_weight=config.image_weight,
            delta=config.huber_delta, pos_weight=config.pos_weight,
            loss=config.loss, dice_weight=config.dice_weight,
        )  # fmt: skip
        acc.update(model.label_probability(out.label), batch, out.image, float(loss))
    scores = acc.scores()
    maps = acc.maps()
    if maps is None:
        return scores
    f1, threshold = boundary_scores(
        *maps, tolerance=config.tolerance, calibrate=config.calibrate, threshold=config.threshold
    )
    return dataclasses.replace(scores, boundary_f1=f1, threshold=threshold)


def selection_key(scores: ValidationScores, select_by: str) -> tuple[float, ...]:
    """Sort key of an epoch's validation scores: larger is better.

    ``"boundary_f1"``: the calibrated boundary-F1, ties broken by the lower
    validation loss; ``"loss"``: the lower validation loss. NaN counts as the
    worst value (-inf), so an undefined boundary-F1 (no visible membrane in
    the validation crops) falls back to the loss.
    """

    def finite(v: float) -> float:
        return -math.inf if math.isnan(v) else v

    if select_by == "loss":
        return (finite(-scores.loss),)
    return (finite(scores.boundary_f1), finite(-scores.loss))
