"""Write simulations to folders: one tomogram with its truth, or a reproducible set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from sxtseg.errors import InputError
from sxtseg.simulate.dataset import Simulation, simulate
from sxtseg.simulate.profiles import SimProfile
from sxtseg.simulate.recipes import Recipe

__all__ = ["FILES", "simulate_dataset", "write_simulation"]

#: Files every simulation folder holds (besides the previews and phantom.mrc).
FILES = (
    "tomogram.mrc",
    "membranes.mrc",
    "flat.mrc",
    "instances.mrc",
    "objects.csv",
    "tilt_angles.tlt",
    "simulation.json",
)


def write_simulation(
    sim: Simulation,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    phantom: bool = False,
    previews: bool = True,
) -> Path:
    """Write a simulation to ``out_dir``.

    Files: tomogram.mrc (float32 µm⁻¹, or uint8 dense = dark), membranes.mrc
    (uint8 0/1, all membranes), flat.mrc (uint8 0/1, the flat part of the
    membranes), instances.mrc (uint16), objects.csv, tilt_angles.tlt,
    simulation.json (seed and the settings used, drawn ones included),
    preview_xy.png, preview_xz.png and, with ``phantom=True``, phantom.mrc (true
    LAC). Every volume carries the true (z, y, x) voxel size. Each file appears whole.
    """
    from sxtseg.io import write_tilt_angles, write_volume
    from sxtseg.io.checkpoint import write_json_atomic

    out = Path(out_dir)
    if not overwrite:
        clash = [n for n in FILES if (out / n).exists()]
        if clash:
            raise InputError(f"{out / clash[0]} exists; pass --overwrite to replace it")
    out.mkdir(parents=True, exist_ok=True)
    write_volume(out / "tomogram.mrc", sim.tomogram, overwrite=overwrite)
    write_volume(out / "membranes.mrc", sim.membranes, overwrite=overwrite)
    write_volume(out / "flat.mrc", sim.flat, overwrite=overwrite)
    write_volume(out / "instances.mrc", sim.instances, overwrite=overwrite)
    if phantom:
        write_volume(out / "phantom.mrc", sim.phantom, overwrite=overwrite)
    tmp = out / ".objects.csv.tmp"
    sim.objects.to_csv(tmp, index=False, float_format="%.6g")
    tmp.replace(out / "objects.csv")
    write_tilt_angles(out / "tilt_angles.tlt", sim.tilt_angles, overwrite=overwrite)
    write_json_atomic(out / "simulation.json", sim.settings)
    if previews:
        from sxtseg.simulate.preview import write_previews

        image = np.asarray(sim.tomogram.data)
        if not sim.settings.get("dense_high", True):
            image = -image.astype(np.float32)  # previews expect dense = high
        write_previews(image, sim.membranes.data, out)
    return out


def simulate_dataset(
    out_dir: str | Path,
    *,
    profile: str | Path | SimProfile = "bessy-u41",
    shape: tuple[int, int, int] = (64, 256, 256),
    seed: int = 0,
    count: int = 1,
    recipe: str | Recipe | None = None,
    randomize: bool = False,
    overwrite: bool = False,
    phantom: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write ``count`` simulations to ``out_dir/000``, ``001``, ... reproducibly from ``seed``.

    Item i uses the seed ``seed * 1000003 + i`` (so sets drawn with different seeds
    do not share scenes); with ``recipe=None`` the recipes cycle through
    periphery, perinuclear, yeast. With ``randomize`` every item draws its own
    instrument and contrast from its seed (see :func:`~sxtseg.simulate.simulate`).
    Returns the folders written.
    """
    if count < 1:
        raise InputError("count must be >= 1")
    from sxtseg.simulate.recipes import RECIPES

    names = list(RECIPES)
    out = Path(out_dir)
    written = []
    for i in range(count):
        rec = recipe if recipe is not None else names[i % len(names)]
        sim = simulate(
            profile, shape=shape, seed=int(seed) * 1000003 + i, recipe=rec, randomize=randomize
        )
        written.append(
            write_simulation(sim, out / f"{i:03d}", overwrite=overwrite, phantom=phantom)
        )
        if progress is not None:
            progress(1)
    return written
