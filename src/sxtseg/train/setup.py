"""Preparing a training run: device choice, data discovery, validation split, loaders.

With a pixel size (``TrainConfig.pixel_size_nm``, or an ``init`` model's),
every crop — training, unlabelled and validation — is cut at that pixel size
(:mod:`sxtseg.train.crops`), the way inference resamples slices; training
crops get a random zoom of ± ``scale_jitter`` on top, validation crops none.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from sxtseg.errors import InputError
from sxtseg.train.augment import AugmentConfig
from sxtseg.train.config import TrainConfig
from sxtseg.train.data import SliceDataset, Source, base_zoom, find_sources
from sxtseg.train.sampling import KeySampler
from sxtseg.types import SpacingLike

__all__ = [
    "TrainData",
    "prepare_data",
    "resolve_device",
    "split_validation",
    "spread_evenly",
]

#: Default side (pixels) of the fixed validation centre crops.
VAL_CROP = 256

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
    so scattered slices would leak); for a tomogram labelled on a few slices
    only, these are held-out labelled slices. Validation is capped at
    ``config.val_max_slices`` slices (:func:`spread_evenly`).

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
    return train, spread_evenly(val, config.val_max_slices), mode


def spread_evenly(items: list[tuple[int, int]], cap: int) -> list[tuple[int, int]]:
    """At most ``cap`` items, shared as evenly as possible among the tomograms.

    Each tomogram (first element of an item) gets an equal quota (a tomogram
    with fewer slices passes what it cannot use to the others); within a
    tomogram the kept slices are evenly spaced.

    Parameters
    ----------
    items : list of (source index, slice index)
    cap : int

    Returns
    -------
    list of (source index, slice index)
        In the order of ``items``.
    """
    if len(items) <= cap:
        return list(items)
    groups: dict[int, list[int]] = {}
    for j, (i, _) in enumerate(items):
        groups.setdefault(i, []).append(j)
    quota: dict[int, int] = {}
    left = cap
    for n_done, (i, js) in enumerate(sorted(groups.items(), key=lambda g: len(g[1]))):
        quota[i] = min(len(js), left // (len(groups) - n_done))
        left -= quota[i]
    keep: set[int] = set()
    for i, js in groups.items():
        if quota[i]:
            pick = np.linspace(0, len(js) - 1, quota[i]).round().astype(int)
            keep.update(js[int(k)] for k in pick)
    return [items[j] for j in sorted(keep)]


@dataclass
class TrainData:
    """Sources, split and loaders of one run.

    Attributes
    ----------
    config : TrainConfig
    device : torch.device
    labeled_sources, unlabeled_sources : list of Source
    train_items, val_items : list of (source index, slice index)
        ``train_items`` index ``labeled_sources``; ``val_items`` index
        ``val_sources``.
    split_mode : str
        "tomogram", "slice" or "explicit" (``validation`` paths given).
    crop : int
        Training crop side (pixels at ``pixel_size_nm``).
    val_sources : list of Source or None
        Validation tomograms; None: ``labeled_sources`` (a split).
    pixel_size_nm : float or None
        The XY pixel size (nm) to record in the model: the one crops are
        resampled to when ``resample``; otherwise the median XY voxel size of
        the labelled data (None when any is unknown).
    resample : bool
        Crops are cut at ``pixel_size_nm`` (with ``config.scale_jitter``).
    val_crop : int
        Side of the fixed validation centre crops (pixels).
    """

    config: TrainConfig
    device: torch.device
    labeled_sources: list[Source]
    unlabeled_sources: list[Source]
    train_items: list[tuple[int, int]]
    val_items: list[tuple[int, int]]
    split_mode: str
    crop: int = 0
    val_sources: list[Source] | None = None
    pixel_size_nm: float | None = None
    resample: bool = False
    val_crop: int = 0
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

    def _dataset(
        self, sources: list[Source], items: list[tuple[int, int]], *, labeled: bool, train: bool
    ) -> SliceDataset:
        c = self.config
        return SliceDataset(
            sources, items, crop=self.crop if train else self.val_crop or self.crop,
            labeled=labeled, augment_config=self._augment() if train else None,
            ignore_value=c.ignore_value, use_ignore=c.ignore_flat,
            pixel_size_nm=self.pixel_size_nm if self.resample else None,
            scale_jitter=c.scale_jitter if train else 0.0,
        )  # fmt: skip

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
        """Endless augmented labelled batches, resumable at sample ``start``.

        At least ``config.membrane_crop_fraction`` of the crops are centred on
        a counted membrane pixel (where the slice has one).
        """
        c = self.config
        ds = self._dataset(self.labeled_sources, self.train_items, labeled=True, train=True)
        sampler = KeySampler(len(ds), seed=c.seed, stream=0, start=start,
                             centre_fraction=c.membrane_crop_fraction)  # fmt: skip
        return self._loader(ds, sampler)

    def unlabeled_loader(self, *, start: int = 0) -> DataLoader:
        """Endless augmented unlabelled batches."""
        c = self.config
        items = [(i, z) for i, s in enumerate(self.unlabeled_sources) for z in s.slices]
        ds = self._dataset(self.unlabeled_sources, items, labeled=False, train=True)
        return self._loader(ds, KeySampler(len(ds), seed=c.seed, stream=1, start=start))

    def val_loader(self) -> list[dict[str, torch.Tensor]] | None:
        """Validation batches, built once and kept in memory.

        Centre crops of ``val_crop`` px at the pixel size, no jitter or
        augmentation; keys ``image``, ``target``, ``valid``, ``label`` (-1/1),
        ``weight`` (0 for ignored, flat and padded pixels), each (B, 1, H, W).
        """
        if not self.val_items:
            return None
        if self._val_batches is None:
            c = self.config
            sources = self.labeled_sources if self.val_sources is None else self.val_sources
            ds = self._dataset(sources, self.val_items, labeled=True, train=False)
            samples = [ds[i] for i in range(len(ds))]
            ds.close()
            self._val_batches = [
                {k: torch.stack([s[k] for s in samples[j : j + c.batch_size]]) for k in samples[0]}
                for j in range(0, len(samples), c.batch_size)
            ]
        return self._val_batches

    def summary(self) -> dict[str, Any]:
        """JSON-ready description for the checkpoint."""
        val_list = self.labeled_sources if self.val_sources is None else self.val_sources
        val_sources = sorted({i for i, _ in self.val_items})
        out = {
            "labeled": [s.summary() for s in self.labeled_sources],
            "unlabeled": [s.summary() for s in self.unlabeled_sources],
            "train_slices": len(self.train_items),
            "val_slices": len(self.val_items),
            "val_split": self.split_mode,
            "val_sources": [val_list[i].name for i in val_sources],
            "unlabeled_slices": sum(len(s.slices) for s in self.unlabeled_sources),
            "crop": self.crop,
            "val_crop": self.val_crop,
            "pixel_size_nm": self.pixel_size_nm,
            "resampled": self.resample,
        }
        if self.val_sources is not None:
            out["validation"] = [s.summary() for s in self.val_sources]
        return out

    def close(self) -> None:
        for ds in self._datasets:
            ds.close()


def _median_voxel(sources: list[Source]) -> float | None:
    """Median XY voxel size (nm) of ``sources``; None when any is unknown."""
    sizes = [s.voxel_yx for s in sources if s.slices]
    if not sizes or any(v is None for v in sizes):
        return None
    return float(np.median([(v[0] + v[1]) / 2 for v in sizes if v is not None]))


def _check_voxel_sizes(sources: list[Source], pixel: float, what: str) -> None:
    for s in sources:
        if s.voxel_yx is None:
            raise InputError(
                f"{s.image}: no voxel size in the header, and {what} data must be resampled to "
                f"the model's pixel size ({pixel:g} nm); add one (--voxel-size NM)"
            )


def _smallest_side(sources: list[Source], pixel: float | None) -> int:
    """Smallest Y or X extent (pixels at ``pixel``) of the sources' slices."""
    sides = []
    for s in sources:
        f = base_zoom(s, pixel)
        sides += [round(s.shape[1] * f[0]), round(s.shape[2] * f[1])]
    return max(1, min(sides))


def prepare_data(
    labeled: Sequence[str | Path],
    unlabeled: Sequence[str | Path],
    config: TrainConfig,
    *,
    device: torch.device,
    pixel_size_nm: float | None = None,
    validation: Sequence[str | Path] | None = None,
    voxel_size: SpacingLike | None = None,
    val_crop: int = VAL_CROP,
) -> TrainData:
    """Find the data, split it and return a :class:`TrainData`.

    Parameters
    ----------
    labeled, unlabeled : list of str or Path
        See :func:`~sxtseg.train.data.find_sources`.
    config : TrainConfig
    device : torch.device
    pixel_size_nm : float or None
        XY pixel size (nm) to resample every slice to (the resolved one: from
        ``config.pixel_size_nm`` or an ``init`` model). None:
        ``config.pixel_size_nm``; when that is None too, slices are used on
        their own grids and ``TrainData.pixel_size_nm`` is the median XY voxel
        size of the labelled data.
    validation : list of str or Path, optional
        Labelled validation tomograms; the training data is then not split.
    voxel_size : float or (z, y, x) nm, optional
        Override of every tomogram's voxel size (``--voxel-size``).
    val_crop : int
        Largest side (pixels) of the validation centre crops; reduced to the
        smallest validation slice (a multiple of 16).

    Raises
    ------
    InputError
        No labelled data, no labelled slice left for training, or a labelled
        (or validation) tomogram without voxel size when resampling.
    """
    if not labeled:
        raise InputError("training needs labelled data (--labeled)")
    pixel = pixel_size_nm if pixel_size_nm is not None else config.pixel_size_nm
    def sources(paths: list[str | Path]) -> list[Source]:
        return find_sources(
            paths, labeled=True, ignore_value=config.ignore_value, voxel_size=voxel_size
        )

    lab = sources(list(labeled))
    val_src = sources(list(validation)) if validation else None
    if not config.ignore_flat:
        for s in lab + (val_src or []):
            s.ignore = None
    unl: list[Source] = []
    if unlabeled and config.supervised_only:
        log.warning("--supervised-only: ignoring %d unlabelled path(s)", len(unlabeled))
    elif unlabeled and config.unlabeled_ratio > 0:
        unl = find_sources(list(unlabeled), labeled=False, voxel_size=voxel_size)
    if pixel is not None:
        _check_voxel_sizes(lab, pixel, "labelled")
        _check_voxel_sizes(val_src or [], pixel, "validation")
        for s in unl:
            if s.voxel_yx is None:
                log.warning("%s: no voxel size; used unresampled (add --voxel-size)", s.image)
    else:
        known = {s.voxel_yx for s in lab if s.voxel_yx is not None}
        if len(known) > 1:
            log.warning("labelled data at different voxel sizes (%s nm) and no pixel size: "
                        "crops are not resampled (set a pixel size)",
                        ", ".join(f"{v[1]:g}" for v in sorted(known)))  # fmt: skip
    if val_src is not None:
        train = [(i, z) for i, s in enumerate(lab) for z in s.slices]
        val = spread_evenly([(i, z) for i, s in enumerate(val_src) for z in s.slices],
                            config.val_max_slices)  # fmt: skip
        mode = "explicit"
    else:
        train, val, mode = split_validation(lab, config)
    smallest = _smallest_side(lab + unl, pixel)
    crop = min(config.crop, max(16, smallest // 16 * 16))
    if crop < config.crop:
        log.info("crop %d px -> %d px (the smallest slice is %d px)", config.crop, crop, smallest)
    val_side = _smallest_side(val_src if val_src is not None else lab, pixel)
    vcrop = min(max(16, val_crop // 16 * 16), max(16, val_side // 16 * 16))
    log.info("%d labelled tomograms (%d train / %d validation slices, split by %s), "
             "%d unlabelled tomograms", len(lab), len(train), len(val), mode, len(unl))  # fmt: skip
    return TrainData(
        config, device, lab, unl, train, val, mode, crop, val_sources=val_src,
        pixel_size_nm=pixel if pixel is not None else _median_voxel(lab),
        resample=pixel is not None, val_crop=vcrop,
    )  # fmt: skip
