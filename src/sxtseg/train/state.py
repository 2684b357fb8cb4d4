"""Run state for resuming, and writing the model folder after each epoch."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from sxtseg.errors import InputError
from sxtseg.io.base import temp_sibling
from sxtseg.model import DoubleDecoderNet, ModelConfig
from sxtseg.model.checkpoint import default_normalization, load_model, save_model, versions
from sxtseg.train.config import TrainConfig
from sxtseg.train.metrics import ValidationScores
from sxtseg.train.report import plot_curves, write_metrics_csv

__all__ = ["TrainState", "load_state", "save_checkpoints", "stored_threshold"]

STATE_NAME = "state.pt"


@dataclass
class TrainState:
    """Counters and records carried across epochs (and resumes)."""

    step: int = 0
    epoch: int = 0
    labeled_samples: int = 0
    unlabeled_samples: int = 0
    best_loss: float = math.inf
    best_epoch: int | None = None
    best: ValidationScores = field(default_factory=ValidationScores)
    untrained: ValidationScores = field(default_factory=ValidationScores)
    bad_epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def stored_threshold(scores: ValidationScores, config: TrainConfig, has_val: bool) -> float:
    """``meta["threshold"]``: the calibrated threshold, else ``config.threshold``."""
    t = scores.threshold
    if config.calibrate and has_val and not math.isnan(t):
        return float(t)
    return float(config.threshold)


def _meta(
    state: TrainState,
    config: TrainConfig,
    data: Any,
    device: str,
    scores: ValidationScores,
    record: dict[str, Any],
) -> dict[str, Any]:
    augmented = config.invert_prob > 0
    norm = default_normalization(polarity_augmented=augmented)
    if record.get("normalization"):  # fine-tuning keeps the init model's record
        norm = dict(record["normalization"])
        norm["polarity_augmented"] = bool(norm.get("polarity_augmented")) or augmented
    return {
        "trained": True,
        "preset": config.preset,
        "threshold": stored_threshold(scores, config, bool(data.has_val)),
        "pixel_size_nm": record.get("pixel_size_nm"),
        "loss": config.loss,
        "init": record.get("init"),
        "normalization": norm,
        "training": {
            "config": config.to_dict(),
            "learning_rate": config.learning_rate,
            "data": data.summary(),
            "steps": state.step,
            "epochs": state.epoch,
            "best_epoch": state.best_epoch,
            "select_by": config.select_by,
            "device": device,
            "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        "metrics": {
            "threshold": config.threshold,
            "best": state.best.to_dict(""),
            "untrained": state.untrained.to_dict(""),
        },
        "versions": versions(),
    }


def save_checkpoints(
    out: Path,
    model: DoubleDecoderNet,
    model_config: ModelConfig,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: TrainState,
    config: TrainConfig,
    data: Any,
    *,
    best: bool,
    latest: ValidationScores | None = None,
    record: dict[str, Any] | None = None,
) -> None:
    """Write ``out/last`` (model + optimiser state), the best model, metrics.csv, curves.

    Parameters
    ----------
    best : bool
        This epoch is the best so far: also write the model into ``out``.
    latest : ValidationScores, optional
        This epoch's scores (the threshold stored in ``last/``); default ``state.best``.
    record : dict, optional
        Run facts for the meta: ``loss``, ``pixel_size_nm``, ``init`` (the
        ``meta["init"]`` record) and ``normalization`` (an init model's record).
    """
    device = str(next(model.parameters()).device)
    record = record or {}
    last = out / "last"
    meta = _meta(state, config, data, device, latest or state.best, record)
    save_model(model, model_config, last, meta=meta)
    resume_record = {
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "state": {k: v for k, v in asdict(state).items() if k not in ("best", "untrained")},
        "best": asdict(state.best),
        "untrained": asdict(state.untrained),
        "config": config.to_dict(),
    }
    tmp = temp_sibling(last / STATE_NAME)
    torch.save(resume_record, tmp)
    os.replace(tmp, last / STATE_NAME)
    if best:
        save_model(model, model_config, out, meta=_meta(state, config, data, device, state.best,
                                                         record))  # fmt: skip
    write_metrics_csv(out / "metrics.csv", state.history)
    plot_curves(out / "training_curves.png", state.history)


def load_state(
    last: Path,
    model: DoubleDecoderNet,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    *,
    device: torch.device,
) -> TrainState:
    """Restore weights, optimiser, scheduler and counters from ``last``."""
    loaded = load_model(last, device="cpu")
    if loaded.config.to_dict() != model.config.to_dict():
        raise InputError(
            f"{last}: saved network (m={loaded.config.m}, image decoder "
            f"{loaded.config.image_decoder}) differs from the requested one; "
            "use the same --preset / --supervised-only to resume"
        )
    model.load_state_dict(loaded.model.state_dict())
    record = torch.load(last / STATE_NAME, map_location=device, weights_only=True)
    optimizer.load_state_dict(record["optimizer"])
    scheduler.load_state_dict(record["scheduler"])
    state = TrainState(**record["state"])
    state.best = ValidationScores(**record["best"])
    state.untrained = ValidationScores(**record["untrained"])
    return state
