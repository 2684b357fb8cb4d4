"""Data of ``experiment_semisupervised.py``: simulated tomograms and sparse label folders.

Every tomogram is simulated once into ``WORK/data`` (48×256×256 by default, at
the profile's own voxel size) and reused by later runs and sessions.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "HELD_OUT",
    "RECIPES",
    "TRAIN_PROFILES",
    "VAL_SLICES",
    "choose_slices",
    "make_data",
    "read_case",
    "write_labels",
]

log = logging.getLogger("experiment")

TRAIN_PROFILES = ("bessy-u41", "alba-mistral", "diamond-b24")
HELD_OUT = "lab-25nm"
RECIPES = ("periphery", "perinuclear", "yeast")
LABEL_PROFILE, LABEL_RECIPE, LABEL_SEED = "bessy-u41", "perinuclear", 1000
FT_RECIPE, FT_SEED = "yeast", 4242
VAL_SLICES = 6


# ----------------------------------------------------------------------------- data


def _simulate(out: Path, profile: str, *, seed: int, recipe: str, shape: tuple[int, ...]) -> Path:
    """Simulate once into ``out`` (the bundled-model recipe's helper); returns ``out``."""
    from train_bundled_model import _simulate as simulate_once

    simulate_once(out, profile, shape=shape, seed=seed, recipe=recipe, label=profile)  # type: ignore[arg-type]
    return out


def make_data(work: Path, shape: tuple[int, ...]) -> dict[str, Any]:
    """Simulate (once) every tomogram of the experiment; returns their folders."""
    d = work / "data"
    labelled = _simulate(
        d / "labelled", LABEL_PROFILE, seed=LABEL_SEED, recipe=LABEL_RECIPE, shape=shape
    )
    unlabelled = [labelled / "tomogram.mrc"]
    for p_i, profile in enumerate(TRAIN_PROFILES):
        for i in range(2):
            seed, recipe = 2000 + 100 * p_i + i, RECIPES[(p_i + i) % 3]
            f = _simulate(
                d / "unlabelled" / f"{profile}_{recipe}_{seed}",
                profile,
                seed=seed,
                recipe=recipe,
                shape=shape,
            )
            unlabelled.append(f / "tomogram.mrc")
    tests: dict[str, list[Path]] = {}
    for p_i, profile in enumerate((*TRAIN_PROFILES, HELD_OUT)):
        tests[profile] = [
            _simulate(
                d / "test" / profile / f"{recipe}_{3000 + 100 * p_i + r_i}",
                profile,
                seed=3000 + 100 * p_i + r_i,
                recipe=recipe,
                shape=shape,
            )
            for r_i, recipe in enumerate(RECIPES)
        ]
    finetune = _simulate(d / "finetune", HELD_OUT, seed=FT_SEED, recipe=FT_RECIPE, shape=shape)
    return {"labelled": labelled, "unlabelled": unlabelled, "tests": tests, "finetune": finetune}


def read_case(folder: Path) -> tuple[Any, np.ndarray, np.ndarray]:
    """(tomogram Volume, visible+flat truth bool, flat bool) of a simulated folder."""
    from sxtseg.io import read_volume

    tomo = read_volume(folder / "tomogram.mrc")
    truth = np.asarray(read_volume(folder / "membranes.mrc").data) > 0
    flat = np.asarray(read_volume(folder / "flat.mrc").data) > 0
    return tomo, truth, flat


def choose_slices(
    truth: np.ndarray, flat: np.ndarray, n: int, *, seed: int | None
) -> tuple[list[int], list[int]]:
    """Training slices (random with ``seed``, evenly spaced when None) and validation slices.

    Candidates are slices with visible membrane, away from the top and bottom
    two slices; validation takes :data:`VAL_SLICES` evenly spread over the rest.
    """
    visible = (truth & ~flat).sum(axis=(1, 2))
    cand = [z for z in range(2, truth.shape[0] - 2) if visible[z] > 0]
    if len(cand) < n + VAL_SLICES:
        raise SystemExit(f"only {len(cand)} slices with visible membrane; {n} + {VAL_SLICES} asked")
    if seed is None:
        pick = np.linspace(0, len(cand) - 1, n + 2)[1:-1].round().astype(int)
        train = sorted(cand[i] for i in pick)
    else:
        rng = np.random.default_rng(10_000 + seed)
        train = sorted(int(z) for z in rng.choice(cand, size=n, replace=False))
    rest = [z for z in cand if z not in train]
    val = sorted(rest[i] for i in np.linspace(0, len(rest) - 1, VAL_SLICES).round().astype(int))
    return train, val


def write_labels(
    source: Path, out: Path, truth: np.ndarray, flat: np.ndarray, slices: list[int]
) -> Path:
    """A folder with the tomogram and labels on ``slices`` only (255 elsewhere and on flat)."""
    from sxtseg.io import read_volume, write_volume
    from sxtseg.types import Volume

    if (out / "membranes.mrc").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "tomogram.mrc", out / "tomogram.mrc")
    labels = np.full(truth.shape, 255, dtype=np.uint8)
    labels[slices] = np.where(flat[slices], 255, truth[slices].astype(np.uint8))
    vs = read_volume(source / "tomogram.mrc").voxel_size
    write_volume(out / "membranes.mrc", Volume(labels, voxel_size=vs), overwrite=True)
    return out
