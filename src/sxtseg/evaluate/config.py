"""Defaults of the evaluation stage (one frozen dataclass)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EvaluateConfig"]


@dataclass(frozen=True)
class EvaluateConfig:
    """How a prediction is scored.

    Attributes
    ----------
    threshold : float
        Probability threshold (``p >= threshold`` is foreground); the paper's 0.9.
    tolerance : float or None
        Boundary tolerance in voxels; ``None`` = no boundary scores.
    instances : bool
        Also match objects (instance volumes, or connected components of masks).
    iou : float
        IoU a predicted object needs to match a true one.
    planar : bool
        Treat axis 0 of an (N, H, W) array as N independent 2D images (no
        boundary matching across slices), e.g. a batch of crops.
    """

    threshold: float = 0.9
    tolerance: float | None = None
    instances: bool = False
    iou: float = 0.5
    planar: bool = False
