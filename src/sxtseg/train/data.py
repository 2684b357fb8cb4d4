"""Training data: finding tomogram/label pairs and lazy, augmented slice datasets.

Accepted layouts (``--labeled`` / ``--unlabeled``):

- a folder with ``tomogram.*`` (+ ``membranes.*`` or ``labels.*`` for labels): the
  simulator's layout; a ``flat.*`` volume next to the labels marks membrane
  voxels hidden by the missing wedge (left out of the label loss);
- a folder of such folders (``sxtseg simulate --count``);
- TIFF slice pairs ``X.tif`` + ``X.labels.tif`` (the authors' layout), in a
  folder or given as the image file;
- for unlabelled data also plain volume files or folders of them.

Slices are read one at a time from memory-mapped files, so a training set
larger than RAM works. Every slice is standardised whole with
:func:`sxtseg.preprocess.normalize_slices` (as at inference) before cropping;
crops are then cut at the model's pixel size by :mod:`sxtseg.train.crops`.
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
from sxtseg.resample import needs_rescale, scale_factors
from sxtseg.train.augment import AugmentConfig, augment
from sxtseg.train.crops import cut_crop, plan_window
from sxtseg.types import SpacingLike

__all__ = [
    "SliceDataset",
    "Source",
    "base_zoom",
    "counted_labels",
    "find_sources",
    "labelled_slices",
]

log = logging.getLogger(__name__)

_IMAGE_STEMS = ("tomogram",)
_LABEL_STEMS = ("membranes", "labels", "mask")
_FLAT_STEMS = ("flat",)
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
    ignore : Path or None
        Volume whose non-zero voxels are left out of the label loss (the
        simulator's ``flat.*``: membranes hidden by the missing wedge).
    voxel_yx : (y, x) nm or None
        XY voxel size from the reader (or the override); None if unknown.
    """

    name: str
    image: Path
    label: Path | None = None
    shape: tuple[int, int, int] = (0, 0, 0)
    slices: list[int] = field(default_factory=list)
    ignore: Path | None = None
    voxel_yx: tuple[float, float] | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-ready description for checkpoint metadata."""
        return {
            "name": self.name,
            "image": str(self.image),
            "label": None if self.label is None else str(self.label),
            "ignore": None if self.ignore is None else str(self.ignore),
            "shape": list(self.shape),
            "voxel_yx_nm": None if self.voxel_yx is None else list(self.voxel_yx),
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
        if not labeled:
            return [Source(path.name, image)]
        return [Source(path.name, image, label, ignore=_with_stem(path, _FLAT_STEMS))]
    pairs = _tiff_pairs(path)
    if pairs:
        if labeled:
            return [Source(f"{path.name}/{img.stem}", img, lab) for img, lab in pairs]
        return [Source(f"{path.name}/{img.stem}", img) for img, _ in pairs]
    found: list[Source] = []
    for sub in sorted(p for p in path.iterdir() if p.is_dir() and not p.suffix == ".zarr"):
        if _with_stem(sub, _IMAGE_STEMS) is not None or _tiff_pairs(sub):
            found += [
                Source(f"{path.name}/{s.name}", s.image, s.label, ignore=s.ignore)
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
    paths: list[str | Path],
    *,
    labeled: bool,
    ignore_value: int | None = 255,
    voxel_size: SpacingLike | None = None,
) -> list[Source]:
    """Find tomograms (and labels) under ``paths`` and check them.

    Parameters
    ----------
    paths : list of str or Path
    labeled : bool
        Require labels; keep only slices that hold labelled pixels.
    ignore_value : int or None
        Label value of unlabelled pixels.
    voxel_size : float or (z, y, x) nm, optional
        Override of every tomogram's voxel size (for missing or wrong headers).

    Returns
    -------
    list of Source
        With ``shape``, ``slices``, ``voxel_yx`` and (for a simulator folder
        with ``flat.*``) ``ignore`` filled in.
    """
    sources: list[Source] = []
    for p in paths:
        sources += _find_one(Path(p), labeled=labeled)
    for s in sources:
        with open_volume(s.image, voxel_size=voxel_size) as reader:
            s.shape = reader.shape
            vs = reader.voxel_size
            s.voxel_yx = None if vs is None else (float(vs[1]), float(vs[2]))
        if s.ignore is not None:
            with open_volume(s.ignore) as flat:
                if flat.shape != s.shape:
                    raise InputError(f"{s.ignore}: shape {flat.shape} differs from tomogram "
                                     f"shape {s.shape}")  # fmt: skip
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


def counted_labels(
    raw: np.ndarray, flat: np.ndarray | None, *, ignore_value: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """(counted membrane, counts) of labels ``raw`` (any shape), both bool: the one rule.

    Not counted: ``ignore_value`` (not labelled) and non-zero ``flat`` (membrane
    hidden by the missing wedge; None: none).
    """
    weight = np.ones(raw.shape, dtype=bool)
    if ignore_value is not None:
        weight &= raw != ignore_value
    if flat is not None:
        weight &= flat == 0
    return (raw > 0) & weight, weight


def base_zoom(source: Source, pixel_size_nm: float | None) -> tuple[float, float]:
    """Zoom (Y, X) that brings ``source`` to ``pixel_size_nm``, as inference resamples.

    (1, 1) when no pixel size is set, the voxel size is unknown, or every
    factor is within :data:`sxtseg.resample.RESCALE_TOLERANCE` of 1 (inference
    does not resample then either).
    """
    if pixel_size_nm is None or source.voxel_yx is None:
        return 1.0, 1.0
    if not needs_rescale(source.voxel_yx, pixel_size_nm):
        return 1.0, 1.0
    return scale_factors(source.voxel_yx, pixel_size_nm)


class SliceDataset(Dataset):
    """Crops of standardised slices at the model's pixel size, read lazily.

    Keys are ``(item, seed)`` or ``(item, seed, centred)`` tuples (see
    :class:`~sxtseg.train.sampling.KeySampler`): ``item`` indexes ``items``,
    ``seed`` drives the crop, zoom and augmentation, so samples are
    reproducible with any number of DataLoader workers; ``centred`` (labelled
    data) asks for a crop centred on a counted membrane pixel of the slice,
    chosen with the seed (a uniform crop when the slice has none). A plain
    int key gives the centre crop without augmentation or jitter.

    Each sample is a dict of float32 tensors, each (1, crop, crop): ``image``
    (network input), ``target`` (image to reconstruct), ``valid`` (1 = real
    pixel) and, for labelled data, ``label`` (-1/1; 1 = counted membrane) and
    ``weight`` (1 = pixel that counts in the loss; 0 for the ignore value,
    ``flat`` voxels and padding).

    Parameters
    ----------
    sources : list of Source
    items : list of (source index, slice index)
    crop : int
        Crop side (pixels at the model's pixel size).
    labeled : bool
    augment_config : AugmentConfig or None
    ignore_value : int or None
        Label value left out of the loss.
    pixel_size_nm : float or None
        Resample every slice to this pixel size (see :func:`base_zoom`);
        None: the sources' own grids.
    scale_jitter : float
        Random zoom of ± this fraction on top (seeded keys only).
    use_ignore : bool
        Give the voxels of ``Source.ignore`` weight 0.
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
        pixel_size_nm: float | None = None,
        scale_jitter: float = 0.0,
        use_ignore: bool = True,
    ) -> None:
        self.sources = sources
        self.items = items
        self.crop = crop
        self.labeled = labeled
        self.augment_config = augment_config
        self.ignore_value = ignore_value
        self.pixel_size_nm = pixel_size_nm
        self.scale_jitter = scale_jitter if pixel_size_nm is not None else 0.0
        self.use_ignore = use_ignore
        self._zoom = [base_zoom(s, pixel_size_nm) for s in sources]
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
            path = {"image": s.image, "label": s.label, "ignore": s.ignore}[kind]
            assert path is not None
            self._readers[key] = open_volume(path)
        return self._readers[key]

    def close(self) -> None:
        """Close open file handles."""
        for r in self._readers.values():
            r.close()
        self._readers = {}

    def _label_maps(self, s_index: int, z: int) -> tuple[np.ndarray, np.ndarray]:
        """(counted membrane, counts in the loss), both (Y, X) bool."""
        use_flat = self.use_ignore and self.sources[s_index].ignore is not None
        flat = self._reader(s_index, "ignore")[z] if use_flat else None
        return counted_labels(self._reader(s_index, "label")[z], flat,
                              ignore_value=self.ignore_value)  # fmt: skip

    def __getitem__(self, key: tuple[int, ...] | int) -> dict[str, torch.Tensor]:
        if isinstance(key, tuple):
            item, seed = int(key[0]), int(key[1])
            centred = bool(key[2]) if len(key) > 2 else False
            rng: np.random.Generator | None = np.random.default_rng(seed)
        else:
            item, rng, centred = int(key), None, False
        s_index, z = self.items[item]
        image = normalize_slices(self._reader(s_index, "image")[z])
        membrane = weight = None
        if self.labeled:
            membrane, weight = self._label_maps(s_index, z)
        zoom = self._zoom[s_index]
        if rng is not None and self.scale_jitter > 0:
            jitter = float(rng.uniform(1.0 - self.scale_jitter, 1.0 + self.scale_jitter))
            zoom = (zoom[0] * jitter, zoom[1] * jitter)
        centre = None
        if centred and membrane is not None and rng is not None:
            hits = np.flatnonzero(membrane)
            if hits.size:
                y, x = divmod(int(hits[int(rng.integers(0, hits.size))]), membrane.shape[1])
                centre = (y, x)
        window = plan_window(image.shape, self.crop, zoom, rng, centre)
        cut = cut_crop(image, window, membrane=membrane, weight=weight)
        others = [cut.valid.astype(np.float32)]
        if self.labeled:
            assert cut.membrane is not None and cut.weight is not None
            others = [np.where(cut.membrane, 1.0, -1.0).astype(np.float32),
                      cut.weight.astype(np.float32), *others]  # fmt: skip
        if rng is not None and self.augment_config is not None:
            inp, target, others = augment(cut.image, others, rng, self.augment_config)
        else:
            inp = target = cut.image
        out = {"image": inp, "target": target, "valid": others[-1]}
        if self.labeled:
            out["label"] = others[0]
            out["weight"] = others[1] * others[-1]
        return {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))[None]
                for k, v in out.items()}  # fmt: skip
