"""Preparing a training run: device choice, data discovery, validation split, loaders."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from sxtseg.errors import InputError
from sxtseg.train.augment import AugmentConfig
from sxtseg.train.config import TrainConfig
from sxtseg.train.data import SliceDataset, Source, find_sources
from sxtseg.train.sampling import KeySampler

__all__ = ["TrainData", "prepare_data", "resolve_device", "split_validation"]

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """ "auto" -> cuda, mps or cpu; otherwise checked and returned."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"--device: unknown device {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU available")
    return device


def split_validation(
    sources: list[Source], config: TrainConfig
) -> tuple[list[tuple[int, int]], list[tuple[int, int]], str]:
    """Seeded train/validation split of the labelled slices.

    By tomogram: whole tomograms are held out. By slice: one contiguous run of
    slices per tomogram is held out (neighbouring slices are nearly identical,
    so scattered slices would leak). Validation is capped at
    ``config.val_max_slices`` slices, evenly spaced.

    Returns
    -------
    (train_items, val_items, mode)
        Items are (source index, slice index).
    """
    rng = np.random.default_rng([config.seed, 7])
    with_slices = [i for i, s in enumerate(sources) if s.slices]
    mode = config.val_split
    if mode == "auto":
        mode = "tomogram" if len(with_slices) >= 2 else "slice"
    if mode == "tomogram" and len(with_slices) < 2 and config.val_fraction > 0:
        raise InputError("--val-split tomogram needs at least two labelled tomograms")
    train: list[tuple[int, int]] = []
    val: list[tuple[int, int]] = []
    if config.val_fraction == 0:
        train = [(i, z) for i in with_slices for z in sources[i].slices]
    elif mode == "tomogram":
        n_val = min(len(with_slices) - 1, max(1, round(config.val_fraction * len(with_slices))))
        held = set(rng.choice(with_slices, size=n_val, replace=False).tolist())
        for i in with_slices:
            (val if i in held else train).extend((i, z) for z in sources[i].slices)
    else:
        for i in with_slices:
            zs = sources[i].slices
            if len(zs) < 2:
                train += [(i, z) for z in zs]
                continue
            k = min(len(zs) - 1, max(1, round(config.val_fraction * len(zs))))
            start = int(rng.integers(0, len(zs) - k + 1))
            val += [(i, z) for z in zs[start : start + k]]
            train += [(i, z) for z in zs[:start] + zs[start + k :]]
    if not train:
        raise InputError("no labelled slices left for training after the validation split")
    if len(val) > config.val_max_slices:
        pick = np.linspace(0, len(val) - 1, config.val_max_slices).round().astype(int)
        val = [val[j] for j in sorted(set(pick.tolist()))]
    return train, val, mode


@dataclass
class TrainData:
    """Sources, split and loaders of one run."""

    config: TrainConfig
    device: torch.device
    labeled_sources: list[Source]
    unlabeled_sources: list[Source]
    train_items: list[tuple[int, int]]
    val_items: list[tuple[int, int]]
    split_mode: str
    crop: int = 0
    _val_batches: list[dict[str, torch.Tensor]] | None = None
    _datasets: list[SliceDataset] = field(default_factory=list)

    @property
    def n_train(self) -> int:
        return len(self.train_items)

    @property
    def has_val(self) -> bool:
        return bool(self.val_items)

    def _augment(self) -> AugmentConfig:
        c = self.config
        return AugmentConfig(c.rot90, c.flips, c.intensity_jitter, c.noise, c.invert_prob)

    def _loader(self, ds: SliceDataset, sampler: Any) -> DataLoader:
        self._datasets.append(ds)
        workers = self.config.num_workers
        if workers is None:
            workers = 4 if self.device.type == "cuda" else 0
        return DataLoader(
            ds, batch_size=self.config.batch_size, sampler=sampler, num_workers=workers,
            pin_memory=self.device.type == "cuda", persistent_workers=workers > 0,
            drop_last=False,
        )  # fmt: skip

    def train_loader(self, *, start: int = 0) -> DataLoader:
        """Endless augmented labelled batches, resumable at sample ``start``."""
        c = self.config
        ds = SliceDataset(self.labeled_sources, self.train_items, crop=self.crop, labeled=True,
                          augment_config=self._augment(), ignore_value=c.ignore_value)  # fmt: skip
        return self._loader(ds, KeySampler(len(ds), seed=c.seed, stream=0, start=start))

    def unlabeled_loader(self, *, start: int = 0) -> DataLoader:
        """Endless augmented unlabelled batches."""
        c = self.config
        items = [(i, z) for i, s in enumerate(self.unlabeled_sources) for z in s.slices]
        ds = SliceDataset(self.unlabeled_sources, items, crop=self.crop, labeled=False,
                          augment_config=self._augment())  # fmt: skip
        return self._loader(ds, KeySampler(len(ds), seed=c.seed, stream=1, start=start))

    def val_loader(self) -> list[dict[str, torch.Tensor]] | None:
        """Validation batches (centre crops, no augmentation), built once and kept in memory."""
        if not self.val_items:
            return None
        if self._val_batches is None:
            c = self.config
            ds = SliceDataset(self.labeled_sources, self.val_items, crop=self.crop, labeled=True,
                              augment_config=None, ignore_value=c.ignore_value)  # fmt: skip
            samples = [ds[i] for i in range(len(ds))]
            ds.close()
            self._val_batches = [
                {k: torch.stack([s[k] for s in samples[j : j + c.batch_size]]) for k in samples[0]}
                for j in range(0, len(samples), c.batch_size)
            ]
        return self._val_batches

    def summary(self) -> dict[str, Any]:
        """JSON-ready description for the checkpoint."""
        val_sources = sorted({i for i, _ in self.val_items})
        return {
            "labeled": [s.summary() for s in self.labeled_sources],
            "unlabeled": [s.summary() for s in self.unlabeled_sources],
            "train_slices": len(self.train_items),
            "val_slices": len(self.val_items),
            "val_split": self.split_mode,
            "val_sources": [self.labeled_sources[i].name for i in val_sources],
            "unlabeled_slices": sum(len(s.slices) for s in self.unlabeled_sources),
            "crop": self.crop,
        }

    def close(self) -> None:
        for ds in self._datasets:
            ds.close()


def prepare_data(
    labeled: list[str | Path],
    unlabeled: list[str | Path],
    config: TrainConfig,
    *,
    device: torch.device,
) -> TrainData:
    """Find the data, split it and return a :class:`TrainData`."""
    if not labeled:
        raise InputError("training needs labelled data (--labeled)")
    lab = find_sources(list(labeled), labeled=True, ignore_value=config.ignore_value)
    unl: list[Source] = []
    if unlabeled and config.supervised_only:
        log.warning("--supervised-only: ignoring %d unlabelled path(s)", len(unlabeled))
    elif unlabeled and config.unlabeled_ratio > 0:
        unl = find_sources(list(unlabeled), labeled=False)
    train, val, mode = split_validation(lab, config)
    smallest = min(min(s.shape[1], s.shape[2]) for s in lab + unl)
    crop = min(config.crop, max(16, smallest // 16 * 16))
    if crop < config.crop:
        log.info("crop %d px -> %d px (the smallest slice is %d px)", config.crop, crop, smallest)
    log.info("%d labelled tomograms (%d train / %d validation slices, split by %s), "
             "%d unlabelled tomograms", len(lab), len(train), len(val), mode, len(unl))  # fmt: skip
    return TrainData(config, device, lab, unl, train, val, mode, crop)
