"""Random crops and augmentation of standardised slices (numpy, seeded generators)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

__all__ = ["AugmentConfig", "Crop", "augment", "random_crop"]


@dataclass(frozen=True)
class AugmentConfig:
    """What :func:`augment` may do (filled from :class:`~sxtseg.train.config.TrainConfig`)."""

    rot90: bool = True
    flips: bool = True
    intensity_jitter: float = 0.1
    noise: float = 0.05
    invert_prob: float = 0.5


class Crop(NamedTuple):
    """A crop of side ``crop`` and its mask of real (not padded) pixels, all (crop, crop)."""

    arrays: list[np.ndarray]
    valid: np.ndarray


def random_crop(arrays: list[np.ndarray], crop: int, rng: np.random.Generator | None) -> Crop:
    """The same random ``crop``×``crop`` window of each (Y, X) array.

    The window lies inside the image; an image smaller than ``crop`` is
    reflect-padded (edge-padded when too small to reflect) and the padded
    pixels are marked invalid. ``rng=None`` takes the centre window.
    """
    h, w = arrays[0].shape
    y0 = 0 if h <= crop else (int(rng.integers(0, h - crop + 1)) if rng else (h - crop) // 2)
    x0 = 0 if w <= crop else (int(rng.integers(0, w - crop + 1)) if rng else (w - crop) // 2)
    out = [a[y0 : y0 + crop, x0 : x0 + crop] for a in arrays]
    valid = np.ones(out[0].shape, dtype=bool)
    ph, pw = crop - out[0].shape[0], crop - out[0].shape[1]
    if ph or pw:
        mode: Literal["reflect", "edge"] = (
            "reflect" if ph < out[0].shape[0] and pw < out[0].shape[1] else "edge"
        )
        out = [np.pad(a, ((0, ph), (0, pw)), mode=mode) for a in out]
        valid = np.pad(valid, ((0, ph), (0, pw)), constant_values=False)
    return Crop(out, valid)


def augment(
    image: np.ndarray,
    others: list[np.ndarray],
    rng: np.random.Generator,
    config: AugmentConfig,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Augment a standardised crop.

    Parameters
    ----------
    image : ndarray (Y, X) float32
        Standardised slice crop.
    others : list of ndarray (Y, X)
        Label, weight and validity maps: they get the same geometric transform.
    rng : numpy Generator
    config : AugmentConfig

    Returns
    -------
    (input, target, others)
        ``target`` is the transformed, polarity-adjusted, intensity-jittered
        image; ``input`` is ``target`` plus noise (so the image decoder learns to
        reconstruct the slice without the added noise).
    """
    arrays = [image, *others]
    if config.rot90:
        k = int(rng.integers(0, 4))
        arrays = [np.rot90(a, k) for a in arrays]
    if config.flips:
        if rng.random() < 0.5:
            arrays = [a[:, ::-1] for a in arrays]
        if rng.random() < 0.5:
            arrays = [a[::-1, :] for a in arrays]
    arrays = [np.ascontiguousarray(a) for a in arrays]
    target = arrays[0].astype(np.float32, copy=True)
    if rng.random() < config.invert_prob:
        target = -target
    if config.intensity_jitter > 0:
        j = config.intensity_jitter
        gain = 1.0 + rng.uniform(-j, j)
        offset = rng.uniform(-j, j)
        target = (target * gain + offset).astype(np.float32)
    inp = target
    if config.noise > 0:
        sd = rng.uniform(0, config.noise)
        inp = (target + rng.standard_normal(target.shape, dtype=np.float32) * sd).astype(np.float32)
    return inp, target, arrays[1:]
