"""Training data: finding tomogram/label pairs and lazy, augmented slice datasets.

Accepted layouts (``--labeled`` / ``--unlabeled``):

- a folder with ``tomogram.*`` (+ ``membranes.*`` or ``labels.*`` for labels): the
  simulator's layout;
- a folder of such folders (``sxtseg simulate --count``);
- TIFF slice pairs ``X.tif`` + ``X.labels.tif`` (the authors' layout), in a
  folder or given as the image file;
- for unlabelled data also plain volume files or folders of them.

Slices are read one at a time from memory-mapped files, so a training set
larger than RAM works. Every slice is standardised whole with
:func:`sxtseg.preprocess.normalize_slices` (as at inference) before cropping.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from sxtseg.errors import InputError
from sxtseg.io import SUFFIXES, VolumeReader, open_volume
from sxtseg.preprocess import normalize_slices
from sxtseg.train.augment import AugmentConfig, augment, random_crop

__all__ = [
    "SliceDataset",
    "Source",
    "find_sources",
    "labelled_slices",
]

log = logging.getLogger(__name__)

_IMAGE_STEMS = ("tomogram",)
_LABEL_STEMS = ("membranes", "labels", "mask")
_LABEL_SUFFIXES = (".labels.tif", ".labels.tiff")


@dataclass
class Source:
    """One tomogram (or slice stack), optionally with labels of the same shape.

    Attributes
    ----------
    name : str
    image : Path
    label : Path or None
    shape : (Z, Y, X)
    slices : list of int
        Slices used for training (labelled slices for labelled sources).
    """

    name: str
    image: Path
    label: Path | None = None
    shape: tuple[int, int, int] = (0, 0, 0)
    slices: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-ready description for checkpoint metadata."""
        return {
            "name": self.name,
            "image": str(self.image),
            "label": None if self.label is None else str(self.label),
            "shape": list(self.shape),
            "slices": len(self.slices),
        }


def _is_volume(p: Path) -> bool:
    return p.suffix.lower() in SUFFIXES and not p.name.startswith(".")


def _with_stem(folder: Path, stems: tuple[str, ...]) -> Path | None:
    for stem in stems:
        hits = sorted(p for p in folder.glob(f"{stem}.*") if _is_volume(p))
        if hits:
            return hits[0]
    return None


def _tiff_pairs(folder: Path) -> list[tuple[Path, Path]]:
    pairs = []
    for lab in sorted(folder.iterdir()):
        for suffix in _LABEL_SUFFIXES:
            if lab.name.lower().endswith(suffix):
                stem = lab.name[: -len(suffix)]
                img = next((folder / f"{stem}{s}" for s in (".tif", ".tiff")
                            if (folder / f"{stem}{s}").is_file()), None)  # fmt: skip
                if img is None:
                    raise InputError(f"{lab}: no image {stem}.tif next to this label file")
                pairs.append((img, lab))
    return pairs


def _find_one(path: Path, *, labeled: bool) -> list[Source]:
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file() or path.suffix.lower() in (".zarr",):
        if labeled:
            for suffix in (".labels.tif", ".labels.tiff"):
                lab = path.with_name(path.name.rsplit(".", 1)[0] + suffix)
                if lab.is_file():
                    return [Source(path.stem, path, lab)]
            raise InputError(f"{path}: labelled data needs a label file (X.labels.tif) or folder")
        if path.name.lower().endswith(_LABEL_SUFFIXES):
            return []
        return [Source(path.stem, path)]
    image = _with_stem(path, _IMAGE_STEMS)
    if image is not None:
        label = _with_stem(path, _LABEL_STEMS)
        if labeled and label is None:
            raise InputError(f"{path}: has {image.name} but no membranes.* / labels.* file")
        return [Source(path.name, image, label if labeled else None)]
    pairs = _tiff_pairs(path)
    if pairs:
        if labeled:
            return [Source(f"{path.name}/{img.stem}", img, lab) for img, lab in pairs]
        return [Source(f"{path.name}/{img.stem}", img) for img, _ in pairs]
    found: list[Source] = []
    for sub in sorted(p for p in path.iterdir() if p.is_dir() and not p.suffix == ".zarr"):
        if _with_stem(sub, _IMAGE_STEMS) is not None or _tiff_pairs(sub):
            found += [
                Source(f"{path.name}/{s.name}", s.image, s.label)
                for s in _find_one(sub, labeled=labeled)
            ]
    if not found and not labeled:
        files = sorted(p for p in path.iterdir() if _is_volume(p))
        found = [Source(p.stem, p) for p in files if not p.name.lower().endswith(_LABEL_SUFFIXES)]
    if not found:
        what = "tomogram.* + membranes.* (or X.tif + X.labels.tif)" if labeled else "tomograms"
        raise InputError(f"{path}: found no {what}")
    return found


def labelled_slices(reader: VolumeReader, *, ignore_value: int | None) -> list[int]:
    """Indices of slices with at least one labelled pixel (value != ``ignore_value``).

    Reads the label volume slab by slab (bounded memory).
    """
    return _scan_labels(reader, ignore_value=ignore_value)[0]


def _scan_labels(reader: VolumeReader, *, ignore_value: int | None) -> tuple[list[int], int]:
    """(labelled slice indices, number of foreground pixels)."""
    z_count = reader.shape[0]
    step = max(1, (64 << 20) // max(1, reader.shape[1] * reader.shape[2] * reader.dtype.itemsize))
    keep: list[int] = []
    foreground = 0
    for z0 in range(0, z_count, step):
        block = reader.read(z0, min(z_count, z0 + step))
        if ignore_value is None:
            keep += list(range(z0, z0 + block.shape[0]))
            foreground += int(np.count_nonzero(block > 0))
            continue
        valid = block != ignore_value
        has = valid.reshape(block.shape[0], -1).any(axis=1)
        keep += [z0 + int(i) for i in np.flatnonzero(has)]
        foreground += int(np.count_nonzero((block > 0) & valid))
    return keep, foreground


def find_sources(
    paths: list[str | Path], *, labeled: bool, ignore_value: int | None = 255
) -> list[Source]:
    """Find tomograms (and labels) under ``paths`` and check them.

    Parameters
    ----------
    paths : list of str or Path
    labeled : bool
        Require labels; keep only slices that hold labelled pixels.
    ignore_value : int or None
        Label value of unlabelled pixels.

    Returns
    -------
    list of Source
        With ``shape`` and ``slices`` filled in.
    """
    sources: list[Source] = []
    for p in paths:
        sources += _find_one(Path(p), labeled=labeled)
    for s in sources:
        with open_volume(s.image) as reader:
            s.shape = reader.shape
        if s.label is None:
            s.slices = list(range(s.shape[0]))
            continue
        with open_volume(s.label) as lab:
            if lab.shape != s.shape:
                raise InputError(
                    f"{s.label}: label shape {lab.shape} differs from tomogram shape {s.shape}"
                )
            if lab.dtype.kind == "f":
                raise InputError(f"{s.label}: labels must be integers (0/1, {ignore_value}=ignore)")
            s.slices, foreground = _scan_labels(lab, ignore_value=ignore_value)
            if foreground == 0:
                log.warning(
                    "%s: no membrane pixels among the labelled ones (values > 0 other than the "
                    "ignore value %s); if 255 marks membranes, use --ignore-value none",
                    s.label, ignore_value,
                )  # fmt: skip
    if labeled and not any(s.slices for s in sources):
        raise InputError("no labelled slices found in the --labeled data")
    return sources


class SliceDataset(Dataset):
    """Random crops of standardised slices, read lazily.

    Keys are ``(item, seed)`` pairs (see :class:`~sxtseg.train.loop.KeySampler`):
    ``item`` indexes ``items`` and ``seed`` drives the crop and augmentation,
    so samples are reproducible with any number of DataLoader workers.

    Each sample is a dict of float32 tensors, each (1, crop, crop): ``image``
    (network input), ``target`` (image to reconstruct), ``valid`` (1 = real
    pixel) and, for labelled data, ``label`` (-1/1) and ``weight`` (1 =
    labelled pixel that counts in the loss).
    """

    def __init__(
        self,
        sources: list[Source],
        items: list[tuple[int, int]],
        *,
        crop: int,
        labeled: bool,
        augment_config: AugmentConfig | None,
        ignore_value: int | None = 255,
    ) -> None:
        self.sources = sources
        self.items = items
        self.crop = crop
        self.labeled = labeled
        self.augment_config = augment_config
        self.ignore_value = ignore_value
        self._readers: dict[tuple[int, str], VolumeReader] = {}
        self._pid = os.getpid()

    def __len__(self) -> int:
        return len(self.items)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_readers"] = {}
        return state

    def _reader(self, index: int, kind: str) -> VolumeReader:
        if self._pid != os.getpid():  # forked worker: open its own handles
            self._readers, self._pid = {}, os.getpid()
        key = (index, kind)
        if key not in self._readers:
            s = self.sources[index]
            path = s.image if kind == "image" else s.label
            assert path is not None
            self._readers[key] = open_volume(path)
        return self._readers[key]

    def close(self) -> None:
        """Close open file handles."""
        for r in self._readers.values():
            r.close()
        self._readers = {}

    def __getitem__(self, key: tuple[int, int] | int) -> dict[str, torch.Tensor]:
        item, seed = key if isinstance(key, tuple) else (key, None)
        s_index, z = self.items[item]
        rng = np.random.default_rng(seed) if seed is not None else None
        image = normalize_slices(self._reader(s_index, "image")[z])
        arrays = [image]
        if self.labeled:
            raw = self._reader(s_index, "label")[z]
            weight = np.ones(raw.shape, dtype=np.float32)
            if self.ignore_value is not None:
                weight[raw == self.ignore_value] = 0.0
            label = np.where((raw > 0) & (weight > 0), 1.0, -1.0).astype(np.float32)
            arrays += [label, weight]
        cropped = random_crop(arrays, self.crop, rng)
        image, others = cropped.arrays[0], [*cropped.arrays[1:], cropped.valid.astype(np.float32)]
        if rng is not None and self.augment_config is not None:
            inp, target, others = augment(image, others, rng, self.augment_config)
        else:
            inp = target = np.ascontiguousarray(image, dtype=np.float32)
            others = [np.ascontiguousarray(a) for a in others]
        out = {"image": inp, "target": target, "valid": others[-1]}
        if self.labeled:
            out["label"] = others[0]
            out["weight"] = others[1] * others[-1]
        return {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))[None]
                for k, v in out.items()}  # fmt: skip
