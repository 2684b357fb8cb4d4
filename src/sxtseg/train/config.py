"""Training settings: the one place where training defaults live."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sxtseg.errors import InputError
from sxtseg.model.config import PRESETS

__all__ = ["DEFAULT_LR", "LOSSES", "TrainConfig"]

#: Label losses: BCE + soft Dice on logits (default), or the paper's tanh + Huber.
LOSSES = ("bce_dice", "paper")

#: Adam learning rate per preset when ``TrainConfig.lr`` is None.
DEFAULT_LR: dict[str, float] = {"tiny": 1e-3, "small": 1e-3, "base": 1e-4, "paper": 1e-4}


@dataclass(frozen=True)
class TrainConfig:
    """Semisupervised training of the two-headed network.

    Attributes
    ----------
    preset : str or None
        Network size: tiny, small, base or paper (see ``sxtseg presets``).
        None: the ``init`` model's, or "small" without ``init``.
    supervised_only : bool
        The paper's ablation: label path only, no image decoder, no unlabelled data.
    epochs : int
        Total epochs (a resumed run continues up to this number).
    max_steps : int or None
        Stop after this many optimiser steps in total (labelled + unlabelled).
    max_minutes : float or None
        Stop after this much wall-clock time (the current epoch is cut short,
        validated and saved).
    steps_per_epoch : int or None
        Labelled steps per epoch; default ``label_repeats`` passes over the
        labelled training slices.
    label_repeats : int
        Passes over the labelled slices per epoch when ``steps_per_epoch`` is
        None (the authors repeat their small labelled set 6×).
    crop : int
        Side of the random square training crops (pixels).
    batch_size : int
    lr : float or None
        Adam learning rate. None: :data:`DEFAULT_LR` of the preset — 1e-4 for
        ``base`` and ``paper`` (the paper: 1e-4 best, >= 1e-3 fails for m = 64),
        1e-3 for ``tiny`` and ``small``, which at 1e-4 barely move in a short
        run (tiny, 2 epochs on simulated data: validation F1 0.01 at 1e-4).
    schedule : str
        "constant" or "cosine" (cosine decay to ``lr * min_lr_factor`` over the run).
    min_lr_factor : float
    unlabeled_ratio : float
        Unlabelled steps per labelled step (0 disables them).
    alternation : str
        "step" (interleave after every labelled step) or "epoch" (all labelled
        steps of an epoch, then the unlabelled ones, as in the authors' notebook).
    label_weight, image_weight : float
        Labelled-step loss: label_weight·(label loss) + image_weight·Huber(image).
    loss : str
        Label loss. "bce_dice" (default): the label head emits logits, loss =
        BCE + ``dice_weight``·(1 − soft Dice) over counted pixels. "paper": the
        reference's tanh head with Huber (kept for the ablation).
    dice_weight : float
        Weight of the soft-Dice term of "bce_dice".
    pos_weight : float
        Weight of membrane pixels in the label loss relative to background
        (1.0 = the reference; >1 moves the decision point and thickens masks).
    init : str or None
        Start from this model's weights: "default" (the bundled model) or a
        model folder (see :mod:`sxtseg.train.finetune`). Its preset,
        normalisation and pixel size are taken over: ``preset`` must be None
        or the model's; a ``pixel_size_nm`` given here wins (with a warning
        when it differs). A tanh head is converted to logits for "bce_dice";
        a logits model with "paper" is refused. With ``supervised_only`` its
        image decoder is dropped.
    pixel_size_nm : float or None
        XY pixel size (nm) the model works at. Every training slice is
        resampled to it (with ``scale_jitter``), exactly as inference resamples.
        None: the ``init`` model's; without ``init``, no resampling and the
        median XY voxel size of the labelled data is recorded (null if unknown).
    scale_jitter : float
        Random zoom of ± this fraction on top of the resampling (0.15 = ±15 %).
    membrane_crop_fraction : float
        Share of labelled training crops centred on a visible (counted) membrane pixel.
    ignore_flat : bool
        Leave out of the label loss the voxels a ``flat.*`` volume next to the
        labels marks (membranes hidden by the missing wedge; see docs/evaluation.md).
    select_by : str
        Which checkpoint is kept: "boundary_f1" (default: best visible
        boundary-F1 at the calibrated threshold on validation) or "loss".
    tolerance : float
        Boundary tolerance (pixels at the model's pixel size) of validation scores.
    calibrate : bool
        Choose the mask threshold on validation data (best visible boundary-F1
        over a sweep) and store it in the model's ``config.json``.
    bn_momentum : float or None
        BatchNorm momentum used while training (PyTorch convention). The
        reference's 0.01 (Keras 0.99) suits its 700-epoch runs; with short runs
        the running statistics lag far behind and eval-mode outputs are
        useless, so 0.1 is the default. None keeps the model config's value.
    ssim_weight : float
        Unlabelled-step loss: ssim_weight·(1 − SSIM) + (1 − ssim_weight)·Huber(image).
    huber_delta : float
    ignore_value : int or None
        Label value that marks unlabelled pixels (left out of the loss).
    rot90, flips : bool
        Geometric augmentation.
    intensity_jitter : float
        Random gain and offset of the standardised slice, ± this fraction.
    noise : float
        Maximal SD of added Gaussian noise (in standardised units).
    invert_prob : float
        Probability of flipping the polarity (dense dark <-> dense bright).
    val_fraction : float
        Share of labelled data held out for validation.
    val_split : str
        "auto" (by tomogram when there are >= 2 labelled tomograms, else by
        slice), "tomogram" or "slice".
    val_max_slices : int
        At most this many validation slices (fixed crops, no augmentation).
    patience : int or None
        Early stopping: epochs without a better validation score by the
        ``select_by`` criterion (None: off).
    threshold : float
        Probability threshold of the pixel scores (``val_f1`` etc.; paper:
        0.9), the boundary-F1 threshold when not calibrated, and the
        ``meta["threshold"]`` stored when not calibrated or without validation data.
    seed : int
    device : str
        "auto", "cpu", "cuda", "cuda:1", "mps".
    amp : str
        "auto" (bf16 autocast on CUDA, off on CPU), "bf16", "fp16" or "off".
    channels_last : bool or None
        None: on for CUDA.
    num_workers : int or None
        DataLoader workers; None: 0 on CPU, 4 on GPU.
    threads : int or None
        CPU threads for torch (None: the cores not busy with other work).
    """

    preset: str | None = None
    supervised_only: bool = False
    epochs: int = 50
    max_steps: int | None = None
    max_minutes: float | None = None
    steps_per_epoch: int | None = None
    label_repeats: int = 6
    crop: int = 256
    batch_size: int = 4
    lr: float | None = None
    schedule: str = "constant"
    min_lr_factor: float = 0.01
    unlabeled_ratio: float = 1.0
    alternation: str = "step"
    label_weight: float = 0.99
    pos_weight: float = 1.0
    image_weight: float = 0.01
    loss: str = "bce_dice"
    dice_weight: float = 1.0
    init: str | None = None
    pixel_size_nm: float | None = None
    scale_jitter: float = 0.15
    membrane_crop_fraction: float = 0.5
    ignore_flat: bool = True
    select_by: str = "boundary_f1"
    tolerance: float = 2.0
    calibrate: bool = True
    bn_momentum: float | None = 0.1
    ssim_weight: float = 0.5
    huber_delta: float = 0.1
    ignore_value: int | None = 255
    rot90: bool = True
    flips: bool = True
    intensity_jitter: float = 0.1
    noise: float = 0.05
    invert_prob: float = 0.5
    val_fraction: float = 0.1
    val_split: str = "auto"
    val_max_slices: int = 32
    patience: int | None = 20
    threshold: float = 0.9
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"
    channels_last: bool | None = None
    num_workers: int | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.preset is not None and self.preset not in PRESETS:
            raise InputError(f"unknown preset {self.preset!r} (choose from {', '.join(PRESETS)})")
        checks = [
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.max_steps is None or self.max_steps >= 1, "max_steps must be >= 1"),
            (self.max_minutes is None or self.max_minutes > 0, "max_minutes must be > 0"),
            (self.steps_per_epoch is None or self.steps_per_epoch >= 1, "steps_per_epoch >= 1"),
            (self.crop >= 16 and self.crop % 16 == 0, "crop must be a multiple of 16 (>= 16)"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.label_repeats >= 1, "label_repeats must be >= 1"),
            (self.bn_momentum is None or 0 < self.bn_momentum <= 1, "bn_momentum in (0, 1]"),
            (self.lr is None or 0 < self.lr < 1, "lr must be in (0, 1)"),
            (self.schedule in ("constant", "cosine"), "schedule must be constant or cosine"),
            (self.unlabeled_ratio >= 0, "unlabeled_ratio must be >= 0"),
            (self.alternation in ("step", "epoch"), "alternation must be step or epoch"),
            (0 <= self.ssim_weight <= 1, "ssim_weight must be in [0, 1]"),
            (self.huber_delta > 0, "huber_delta must be > 0"),
            (self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}"),
            (self.dice_weight >= 0, "dice_weight must be >= 0"),
            (self.pixel_size_nm is None or self.pixel_size_nm > 0, "pixel_size_nm must be > 0"),
            (0 <= self.scale_jitter < 1, "scale_jitter must be in [0, 1)"),
            (0 <= self.membrane_crop_fraction <= 1, "membrane_crop_fraction in [0, 1]"),
            (self.select_by in ("boundary_f1", "loss"), "select_by: boundary_f1|loss"),
            (self.tolerance >= 0, "tolerance must be >= 0"),
            (0 <= self.invert_prob <= 1, "invert_prob must be in [0, 1]"),
            (self.intensity_jitter >= 0 and self.noise >= 0, "jitter and noise must be >= 0"),
            (0 <= self.val_fraction < 1, "val_fraction must be in [0, 1)"),
            (self.val_split in ("auto", "tomogram", "slice"), "val_split: auto|tomogram|slice"),
            (self.val_max_slices >= 1, "val_max_slices must be >= 1"),
            (self.patience is None or self.patience >= 1, "patience must be >= 1"),
            (0 < self.threshold < 1, "threshold must be in (0, 1)"),
            (self.amp in ("auto", "bf16", "fp16", "off"), "amp must be auto|bf16|fp16|off"),
            (self.num_workers is None or self.num_workers >= 0, "num_workers must be >= 0"),
            (self.threads is None or self.threads >= 1, "threads must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(f"training setting: {message}")

    @property
    def label_output(self) -> str:
        """The label head this loss needs: "logits" for bce_dice, "tanh" for paper."""
        return "tanh" if self.loss == "paper" else "logits"

    @property
    def learning_rate(self) -> float:
        """``lr``, or the preset's default ("small" when the preset is None)."""
        return self.lr if self.lr is not None else DEFAULT_LR[self.preset or "small"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)
