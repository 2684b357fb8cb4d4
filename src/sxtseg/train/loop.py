"""The semisupervised training loop.

Labelled steps update the encoder and both decoders with
``0.99·(label loss) + 0.01·Huber(image)``; the label loss is BCE + soft Dice on
logits (default) or the paper's Huber on a tanh output. Unlabelled steps run
only the encoder, neck and image decoder (``0.5·(1 − SSIM) + 0.5·Huber`` on
the image): the label decoder is never executed there, so it receives no
gradient, Adam skips it, and its BatchNorm statistics cannot move.

After each epoch :func:`~sxtseg.train.validation.evaluate` scores the
validation crops; the checkpoint kept and early stopping follow
``config.select_by`` (:func:`~sxtseg.train.validation.selection_key`).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sxtseg.errors import InputError
from sxtseg.model import DoubleDecoderNet, ModelConfig, build_model
from sxtseg.train.config import TrainConfig
from sxtseg.train.finetune import InitModel, resolve_init
from sxtseg.train.grid_threshold import GridThreshold, SliceSegmenter, calibrate_after_training
from sxtseg.train.losses import image_loss, labeled_loss
from sxtseg.train.metrics import ValidationScores
from sxtseg.train.setup import prepare_data, resolve_device
from sxtseg.train.state import TrainState, load_state, save_checkpoints
from sxtseg.train.validation import autocast as _autocast
from sxtseg.train.validation import evaluate, selection_key
from sxtseg.train.validation import to_device as _to
from sxtseg.types import SpacingLike

__all__ = [
    "TrainProgress",
    "TrainResult",
    "cpu_threads",
    "evaluate",
    "labeled_step",
    "train",
    "unlabeled_step",
]

log = logging.getLogger(__name__)


@dataclass
class TrainProgress:
    """What a progress callback receives after every step (``val`` after each epoch)."""

    step: int
    total_steps: int
    epoch: int
    epochs: int
    kind: str
    loss_labeled: float
    loss_unlabeled: float
    val: ValidationScores | None = None


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    model_dir : Path
        Folder with the best model, ``metrics.csv``, ``training_curves.png``
        and ``last/`` (the state to resume from).
    steps, epochs : int
        Optimiser steps and epochs done in total (including resumed ones).
    best_epoch : int or None
    best : ValidationScores
    untrained : ValidationScores
        Validation scores before the first step.
    stopped_early : bool
    history : list of dict
        One row per epoch (as in ``metrics.csv``).
    input_grid : GridThreshold or None
        The mask threshold chosen again on the validation slices' own grid
        (stored in the model; ``best.threshold`` is the crops'), or None.
    """

    model_dir: Path
    steps: int
    epochs: int
    best_epoch: int | None
    best: ValidationScores
    untrained: ValidationScores
    stopped_early: bool
    history: list[dict[str, Any]] = field(default_factory=list)
    input_grid: GridThreshold | None = None


def labeled_step(
    model: DoubleDecoderNet, batch: dict[str, torch.Tensor], config: TrainConfig
) -> torch.Tensor:
    """Forward + loss of one labelled batch (both heads); returns the loss to backpropagate."""
    model.train()
    out = model(batch["image"])
    loss, _ = labeled_loss(
        out.label, out.image, batch,
        label_weight=config.label_weight, image_weight=config.image_weight,
        delta=config.huber_delta, pos_weight=config.pos_weight,
        loss=config.loss, dice_weight=config.dice_weight,
    )  # fmt: skip
    return loss


def unlabeled_step(
    model: DoubleDecoderNet, batch: dict[str, torch.Tensor], config: TrainConfig
) -> torch.Tensor:
    """Forward + loss of one unlabelled batch: encoder, neck and image decoder only.

    The label decoder is not executed (and is put in eval mode for good
    measure), so neither its weights nor its BatchNorm statistics change.
    """
    model.train()
    for module in model.label_modules():
        module.eval()
    image = model.predict_image(batch["image"])
    return image_loss(image, batch, ssim_weight=config.ssim_weight, delta=config.huber_delta)


def cpu_threads(requested: int | None) -> int:
    """Torch CPU threads: ``requested``, else the cores not already busy (at least 1).

    On a shared machine more threads than idle cores make OpenMP wait for
    each other, which costs far more than it gains (measured 6× slower steps
    with 2 threads on 2 cores under a load of 9).
    """
    if requested:
        return requested
    cores = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0])
    except OSError:  # pragma: no cover - platforms without getloadavg
        busy = 0
    threads = max(1, min(cores, cores - busy))
    log.info("using %d CPU thread(s) (%d cores, load %d)", threads, cores, busy)
    return threads


def _lr_lambda(config: TrainConfig, total: int) -> Callable[[int], float]:
    def f(step: int) -> float:
        if config.schedule == "constant" or total <= 1:
            return 1.0
        t = min(1.0, step / total)
        lo = config.min_lr_factor
        return lo + (1 - lo) * 0.5 * (1 + math.cos(math.pi * t))

    return f


def train(
    labeled: Sequence[str | Path],
    unlabeled: Sequence[str | Path],
    out_dir: str | Path,
    *,
    config: TrainConfig,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[TrainProgress], None] | None = None,
    validation: Sequence[str | Path] | None = None,
    voxel_size: SpacingLike | None = None,
    segment: SliceSegmenter | None = None,
) -> TrainResult:
    """Train a network and keep the best checkpoint in ``out_dir``.

    Parameters
    ----------
    labeled : list of paths
        Tomogram + label folders, folders of them, or TIFF slice pairs.
        Sparse labels work (255 = not labelled; slices without any label are skipped).
    unlabeled : list of paths
        Tomograms without labels (ignored with ``supervised_only``).
    out_dir : str or Path
        Model folder: ``model.safetensors`` + ``config.json`` (best epoch),
        ``metrics.csv``, ``training_curves.png``, ``last/`` (resume state).
    config : TrainConfig
    resume : bool
        Continue from ``out_dir/last`` (step count, optimiser, history).
    overwrite : bool
        Start afresh even if ``out_dir`` already holds a model.
    progress : callable, optional
        Called with a :class:`TrainProgress` after each step and each epoch.
    validation : list of paths, optional
        Labelled tomograms used for validation only (instead of a split of ``labeled``).
    voxel_size : float or 3 floats, optional
        Voxel size (nm) for data whose header lacks one.
    segment : SliceSegmenter, optional
        How ``sxtseg segment`` makes probabilities (the API and CLI pass
        :func:`sxtseg.infer.segment_array`). Given, and with validation
        tomograms resampled to the model's pixel size, the kept model's mask
        threshold is chosen again after the last epoch on whole validation
        slices on their own grid (:mod:`sxtseg.train.grid_threshold`).

    Returns
    -------
    TrainResult

    Raises
    ------
    InputError
        Bad data, an occupied ``out_dir``, or an ``init`` model that does not fit
        (:func:`~sxtseg.train.finetune.resolve_init`).
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    if not resume and not overwrite and (out / "config.json").exists():
        raise InputError(f"{out}: already holds a model (use --resume or --overwrite)")
    if resume and not (out / "last" / "state.pt").is_file():
        raise InputError(f"{out}: nothing to resume (no last/state.pt)")
    device = resolve_device(config.device)
    config, init = resolve_init(config)
    data_options: dict[str, Any] = {
        "validation": list(validation) if validation else None,
        "pixel_size_nm": config.pixel_size_nm,
        "voxel_size": voxel_size,
    }
    previous_threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads(config.threads))
    try:
        return _run(labeled, unlabeled, out, config, device, resume, progress,
                    init=init, data_options=data_options, segment=segment)  # fmt: skip
    finally:
        torch.set_num_threads(previous_threads)


def _model_config(config: TrainConfig, init: InitModel | None) -> ModelConfig:
    if init is not None:
        return init.model_config
    extra = {} if config.bn_momentum is None else {"bn_momentum": config.bn_momentum}
    return ModelConfig.from_preset(
        config.preset or "small", image_decoder=not config.supervised_only,
        label_output=config.label_output, **extra,
    )  # fmt: skip


def _run(
    labeled: Sequence[str | Path],
    unlabeled: Sequence[str | Path],
    out: Path,
    config: TrainConfig,
    device: torch.device,
    resume: bool,
    progress: Callable[[TrainProgress], None] | None,
    *,
    init: InitModel | None,
    data_options: dict[str, Any],
    segment: SliceSegmenter | None = None,
) -> TrainResult:
    channels_last = config.channels_last if config.channels_last is not None else (
        device.type == "cuda")  # fmt: skip
    torch.manual_seed(config.seed)
    # options the data preparation accepts only when they are set
    options = {k: v for k, v in data_options.items() if v is not None}
    data = prepare_data(labeled, unlabeled, config, device=device, **options)
    mcfg = _model_config(config, init)
    model = build_model(mcfg)
    if init is not None:
        init.load_into(model)
    model = model.to(device)
    record = {
        "loss": config.loss,
        "pixel_size_nm": getattr(data, "pixel_size_nm", None),
        "init": None if init is None else init.record,
        "normalization": None if init is None else init.normalization,
    }
    if channels_last:
        # torch's stubs for Module.to omit its documented memory_format keyword
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    n_lab = config.steps_per_epoch or max(
        1, math.ceil(config.label_repeats * data.n_train / config.batch_size)
    )
    n_unl = round(config.unlabeled_ratio * n_lab) if data.unlabeled_sources else 0
    per_epoch = n_lab + n_unl
    total = config.epochs * per_epoch
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config, total))
    scaler = torch.amp.GradScaler(device.type, enabled=config.amp == "fp16")

    state = TrainState()
    if resume:
        state = load_state(out / "last", model, optimizer, scheduler, device=device)
    else:
        out.mkdir(parents=True, exist_ok=True)
        state.untrained = evaluate(model, data.val_loader(), config, device=device,
                                   channels_last=channels_last)  # fmt: skip
        state.history.append({"epoch": 0, "step": 0, **state.untrained.to_dict(), "seconds": 0.0})
    lab_iter = iter(data.train_loader(start=state.labeled_samples))
    unl_iter = iter(data.unlabeled_loader(start=state.unlabeled_samples)) if n_unl else None
    from sxtseg.train.sampling import plan_epoch

    stopped_early = out_of_time = False
    deadline = None if config.max_minutes is None else time.monotonic() + 60 * config.max_minutes
    while state.epoch < config.epochs and state.step < total and not (stopped_early or out_of_time):
        state.epoch += 1
        t0 = time.perf_counter()
        sums = {"L": 0.0, "U": 0.0}
        counts = {"L": 0, "U": 0}
        for kind in plan_epoch(n_lab, n_unl, alternation=config.alternation):
            if state.step >= total or out_of_time:
                break
            if kind == "L":
                batch = _to(next(lab_iter), device, channels_last)
                state.labeled_samples += config.batch_size
            else:
                assert unl_iter is not None
                batch = _to(next(unl_iter), device, channels_last)
                state.unlabeled_samples += config.batch_size
            optimizer.zero_grad(set_to_none=True)
            with _autocast(device, config.amp):
                step_fn = labeled_step if kind == "L" else unlabeled_step
                loss = step_fn(model, batch, config)
            if not torch.isfinite(loss):
                raise RuntimeError(f"non-finite loss at step {state.step} (try a lower --lr)")
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            state.step += 1
            out_of_time = deadline is not None and time.monotonic() > deadline
            sums[kind] += float(loss.detach())
            counts[kind] += 1
            if progress is not None:
                progress(TrainProgress(
                    state.step, total, state.epoch, config.epochs, kind,
                    sums["L"] / max(1, counts["L"]), sums["U"] / max(1, counts["U"]),
                ))  # fmt: skip
        val = evaluate(model, data.val_loader(), config, device=device,
                       channels_last=channels_last)  # fmt: skip
        row = {
            "epoch": state.epoch,
            "step": state.step,
            "lr": optimizer.param_groups[0]["lr"],
            "train_loss_labeled": sums["L"] / counts["L"] if counts["L"] else float("nan"),
            "train_loss_unlabeled": sums["U"] / counts["U"] if counts["U"] else float("nan"),
            **val.to_dict(),
            "seconds": round(time.perf_counter() - t0, 2),
        }
        state.history.append(row)
        key = selection_key(val, config.select_by)
        improved = data.has_val and (
            key > selection_key(state.best, config.select_by) or state.best_epoch is None
        )
        if improved or not data.has_val:
            state.best_loss = val.loss if data.has_val else float("nan")
            state.best_epoch, state.best = state.epoch, val
            state.bad_epochs = 0
        else:
            state.bad_epochs += 1
        stopped_early = config.patience is not None and state.bad_epochs >= config.patience
        save_checkpoints(out, model, mcfg, optimizer, scheduler, state, config, data,
                         best=improved or not data.has_val, latest=val, record=record)  # fmt: skip
        log.info(
            "epoch %d: %s",
            state.epoch,
            {k: row[k] for k in ("val_loss", "val_f1", "val_boundary_f1", "val_threshold")},
        )
        if progress is not None:
            progress(
                TrainProgress(
                    state.step,
                    total,
                    state.epoch,
                    config.epochs,
                    "epoch",
                    row["train_loss_labeled"],
                    row["train_loss_unlabeled"],
                    val,
                )
            )
    data.close()
    grid = None
    if segment is not None and state.best_epoch is not None:
        grid = calibrate_after_training(out, data, config, segment)
    return TrainResult(out, state.step, state.epoch, state.best_epoch, state.best,
                       state.untrained, stopped_early, state.history, grid)  # fmt: skip
