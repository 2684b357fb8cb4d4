"""Validation metrics: label accuracy, precision, recall, F1; image accuracy (torch)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["MetricAccumulator", "ValidationScores"]


@dataclass
class ValidationScores:
    """Scores over a validation set.

    Label scores threshold p = (label + 1) / 2 at ``threshold`` (paper: 0.9)
    over labelled pixels; ``image_accuracy`` is the fraction of real pixels
    with |x − x̂| <= SD(x) (SD per slice crop). NaN where undefined.
    """

    loss: float = float("nan")
    accuracy: float = float("nan")
    precision: float = float("nan")
    recall: float = float("nan")
    f1: float = float("nan")
    image_accuracy: float = float("nan")

    def to_dict(self, prefix: str = "val_") -> dict[str, float]:
        """Flat dict with prefixed names."""
        return {f"{prefix}{k}": v for k, v in self.__dict__.items()}


@dataclass
class MetricAccumulator:
    """Accumulate confusion counts and losses over batches."""

    threshold: float = 0.9
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    image_hits: int = 0
    image_pixels: int = 0
    loss_sum: float = 0.0
    batches: int = 0
    _extra: dict[str, float] = field(default_factory=dict)

    def update(
        self,
        label: torch.Tensor,
        batch: dict[str, torch.Tensor],
        image: torch.Tensor | None = None,
        loss: float | None = None,
    ) -> None:
        """Add one batch: ``label`` (B, 1, H, W) network output in [-1, 1]."""
        prob = (label.float() + 1) / 2
        pred = prob >= self.threshold
        truth = batch["label"] > 0
        w = batch["weight"] > 0
        self.tp += int((pred & truth & w).sum())
        self.fp += int((pred & ~truth & w).sum())
        self.fn += int((~pred & truth & w).sum())
        self.tn += int((~pred & ~truth & w).sum())
        if image is not None:
            target, valid = batch["target"].float(), batch["valid"] > 0
            sd = target.flatten(1).std(dim=1).view(-1, 1, 1, 1)
            hits = ((image.float() - target).abs() <= sd) & valid
            self.image_hits += int(hits.sum())
            self.image_pixels += int(valid.sum())
        if loss is not None:
            self.loss_sum += float(loss)
            self.batches += 1

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
        )
