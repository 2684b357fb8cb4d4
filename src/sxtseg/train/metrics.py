"""Validation metrics: label accuracy, precision, recall, F1; image accuracy (torch).

:class:`MetricAccumulator` also keeps the validation probability maps (with
their visible truth and ignored pixels), from which
:mod:`sxtseg.train.validation` computes the boundary-F1 and calibrates the
mask threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["MetricAccumulator", "ValidationScores"]


@dataclass
class ValidationScores:
    """Scores over a validation set.

    ``accuracy`` ... ``f1`` threshold the membrane probability at a fixed
    threshold (paper: 0.9; kept for continuity) over counted pixels;
    ``image_accuracy`` is the fraction of real pixels with |x − x̂| <= SD(x)
    (SD per slice crop); ``boundary_f1`` is the visible boundary-F1 (each crop
    a 2D image, ignored pixels left out) at ``threshold``, the calibrated (or
    fixed) mask threshold. NaN where undefined.
    """

    loss: float = float("nan")
    accuracy: float = float("nan")
    precision: float = float("nan")
    recall: float = float("nan")
    f1: float = float("nan")
    image_accuracy: float = float("nan")
    boundary_f1: float = float("nan")
    threshold: float = float("nan")

    def to_dict(self, prefix: str = "val_") -> dict[str, float]:
        """Flat dict with prefixed names."""
        return {f"{prefix}{k}": v for k, v in self.__dict__.items()}


@dataclass
class MetricAccumulator:
    """Accumulate confusion counts and losses (and, optionally, the maps) over batches.

    With ``keep_maps`` the probability maps, visible truth (membrane and
    counted) and ignored pixels (weight 0) of every crop are kept as numpy
    arrays, (N, H, W) each after :meth:`maps`.
    """

    threshold: float = 0.9
    keep_maps: bool = False
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    image_hits: int = 0
    image_pixels: int = 0
    loss_sum: float = 0.0
    batches: int = 0
    _maps: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    def update(
        self,
        prob: torch.Tensor,
        batch: dict[str, torch.Tensor],
        image: torch.Tensor | None = None,
        loss: float | None = None,
    ) -> None:
        """Add one batch: ``prob`` (B, 1, H, W) membrane probability in [0, 1].

        Use ``model.label_probability(out.label)`` to get it from the raw
        label map (logits or tanh).
        """
        prob = prob.float()
        pred = prob >= self.threshold
        truth = batch["label"] > 0
        w = batch["weight"] > 0
        self.tp += int((pred & truth & w).sum())
        self.fp += int((pred & ~truth & w).sum())
        self.fn += int((~pred & truth & w).sum())
        self.tn += int((~pred & ~truth & w).sum())
        if self.keep_maps:
            self._maps.append((
                prob[:, 0].detach().cpu().numpy(),
                (truth & w)[:, 0].cpu().numpy(),
                (~w)[:, 0].cpu().numpy(),
            ))  # fmt: skip
        if image is not None:
            target, valid = batch["target"].float(), batch["valid"] > 0
            sd = target.flatten(1).std(dim=1).view(-1, 1, 1, 1)
            hits = ((image.float() - target).abs() <= sd) & valid
            self.image_hits += int(hits.sum())
            self.image_pixels += int(valid.sum())
        if loss is not None:
            self.loss_sum += float(loss)
            self.batches += 1

    def maps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(probability float32, visible truth bool, ignore bool), each (N, H, W); None if empty."""
        if not self._maps:
            return None
        prob, truth, ignore = (np.concatenate(parts) for parts in zip(*self._maps, strict=True))
        return prob.astype(np.float32, copy=False), truth, ignore

    def scores(self) -> ValidationScores:
        """The scores so far."""
        nan = float("nan")
        total = self.tp + self.fp + self.fn + self.tn
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else nan
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else nan
        if self.tp + self.fp + self.fn:
            f1 = 2 * self.tp / (2 * self.tp + self.fp + self.fn)
        else:
            f1 = nan
        return ValidationScores(
            loss=self.loss_sum / self.batches if self.batches else nan,
            accuracy=(self.tp + self.tn) / total if total else nan,
            precision=precision,
            recall=recall,
            f1=f1,
            image_accuracy=self.image_hits / self.image_pixels if self.image_pixels else nan,
            threshold=self.threshold,
        )
