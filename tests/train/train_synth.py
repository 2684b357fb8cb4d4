"""Small synthetic training data in the simulator's folder layout.

Random ellipsoidal shells ("membranes", dense = bright) in a noisy, blurred
background: tomogram.mrc (float32) + membranes.mrc (uint8 0/1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from sxtseg.io import write_volume
from sxtseg.types import Volume


def make_shells(
    shape: tuple[int, int, int], *, seed: int, n_objects: int = 6, noise: float = 0.35
) -> tuple[np.ndarray, np.ndarray]:
    """(tomogram float32, membranes uint8) of ``shape`` (Z, Y, X)."""
    rng = np.random.default_rng(seed)
    z, y, x = np.mgrid[: shape[0], : shape[1], : shape[2]].astype(np.float32)
    mask = np.zeros(shape, dtype=bool)
    for _ in range(n_objects):
        c = rng.uniform([0, 0.15, 0.15], [1, 0.85, 0.85]) * np.array(shape)
        r = rng.uniform([4, 6, 6], [10, 16, 16])
        d = np.sqrt(((z - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((x - c[2]) / r[2]) ** 2)
        mask |= np.abs(d - 1.0) * r[1:].mean() < 1.2
    tomo = mask.astype(np.float32) * 1.0
    tomo = ndimage.gaussian_filter(tomo, (0.5, 1.0, 1.0))
    tomo += rng.normal(0, noise, shape).astype(np.float32)
    tomo = tomo * 0.1 + 0.5  # absorption-like units
    return tomo.astype(np.float32), mask.astype(np.uint8)


def write_shells(folder: Path, shape: tuple[int, int, int], *, seed: int, **kw: object) -> Path:
    """Write a synthetic tomogram folder (tomogram.mrc + membranes.mrc)."""
    tomo, mask = make_shells(shape, seed=seed, **kw)  # type: ignore[arg-type]
    folder.mkdir(parents=True, exist_ok=True)
    write_volume(folder / "tomogram.mrc", Volume(tomo, (10.0, 10.0, 10.0)))
    write_volume(folder / "membranes.mrc", Volume(mask, (10.0, 10.0, 10.0)))
    return folder
