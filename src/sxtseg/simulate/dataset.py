"""Simulate cryo-SXT tomograms with exact ground truth, and write them to folders.

Pipeline of :func:`simulate`: phantom (µm⁻¹, partial volume) → tilt series about
Y over the profile's range → zone-plate blur growing with distance from the focal
plane → Beer–Lambert transmission with Poisson noise at the profile's dose →
alignment jitter → −log → SIRT (profile's iterations, 30 by default).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sxtseg.errors import InputError
from sxtseg.simulate.contrast import lac
from sxtseg.simulate.imaging import acquire, reconstruct
from sxtseg.simulate.phantoms import Canvas, Grid
from sxtseg.simulate.profiles import SimProfile, load_profile
from sxtseg.simulate.recipes import Recipe, get_recipe
from sxtseg.simulate.reconstruct import default_threads
from sxtseg.simulate.scene import paint_scene
from sxtseg.types import Volume

__all__ = [
    "Phantom",
    "Simulation",
    "make_phantom",
    "simulate",
    "simulate_dataset",
    "write_simulation",
]

log = logging.getLogger(__name__)

#: MRC header label of simulated tomograms (polarity!).
TOMOGRAM_LABEL = "sxtseg simulate: absorption (LAC, 1/um), dense = high"


@dataclass
class Phantom:
    """A voxelised scene.

    Attributes
    ----------
    lac : ndarray float32 (Z, Y, X)
        Linear absorption coefficient in µm⁻¹ (partial volume).
    membranes : ndarray uint8 (Z, Y, X)
        1 where the voxel centre lies within 15 nm of a membrane surface.
    instances : ndarray uint16 (Z, Y, X)
        Id of the innermost membrane-bounded compartment (0 = ice/outside).
    objects : DataFrame
        One row per object (see :func:`simulate`).
    voxel_size : float
        nm.
    """

    lac: np.ndarray
    membranes: np.ndarray
    instances: np.ndarray
    objects: pd.DataFrame
    voxel_size: float


@dataclass
class Simulation:
    """A simulated tomogram with its ground truth (all volumes (Z, Y, X), voxel size in nm).

    Attributes
    ----------
    tomogram : Volume, float32
        SIRT reconstruction, absorption in µm⁻¹ (dense = high).
    membranes : Volume, uint8 0/1
    instances : Volume, uint16
    objects : DataFrame
    tilt_angles : ndarray, degrees
    phantom : Volume, float32
        The true absorption (µm⁻¹) before imaging.
    profile : SimProfile
    recipe : Recipe
    seed : int
    timings : dict of str -> seconds
    """

    tomogram: Volume
    membranes: Volume
    instances: Volume
    objects: pd.DataFrame
    tilt_angles: np.ndarray
    phantom: Volume
    profile: SimProfile
    recipe: Recipe
    seed: int
    timings: dict[str, float] = field(default_factory=dict)


def make_phantom(
    shape: tuple[int, int, int],
    *,
    voxel_size: float,
    seed: int | np.random.Generator,
    recipe: str | Recipe | None = None,
    energy_ev: float = 510.0,
) -> Phantom:
    """Build and voxelise one scene.

    Parameters
    ----------
    shape : (Z, Y, X)
    voxel_size : float
        nm.
    seed : int or Generator
    recipe : name or Recipe, optional (default ``periphery``)
    energy_ev : float
        For the absorption coefficients.
    """
    if min(shape) < 4:
        raise InputError(f"shape must be at least 4 voxels along each axis, got {shape}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    rec = get_recipe(recipe)
    grid = Grid(tuple(int(s) for s in shape), float(voxel_size))  # type: ignore[arg-type]
    canvas = Canvas(grid, lac("ice", energy_ev) * float(rng.uniform(0.97, 1.03)))
    paint_scene(canvas, rec, rng, energy_ev=energy_ev)
    objects = pd.DataFrame(canvas.rows)
    counts = np.bincount(canvas.instances.ravel(), minlength=len(canvas.rows) + 1)
    objects["voxels"] = counts[objects["id"].to_numpy()]
    objects["voxel_volume_nm3"] = objects["voxels"] * voxel_size**3
    cols = [
        "id",
        "kind",
        "volume_nm3",
        "surface_nm2",
        "diameter_nm",
        "length_nm",
        "voxels",
        "voxel_volume_nm3",
        "analytic",
        "clipped",
        "lac_per_um",
        "center_z_nm",
        "center_y_nm",
        "center_x_nm",
        "form",
        "envelope_gap_nm",
    ]
    for col in cols:
        if col not in objects:
            objects[col] = math.nan
    objects = objects[cols]
    return Phantom(
        canvas.lac, canvas.truth.astype(np.uint8), canvas.instances, objects, float(voxel_size)
    )


def simulate(
    profile: str | Path | SimProfile = "bessy-u41",
    *,
    shape: tuple[int, int, int] = (64, 256, 256),
    seed: int = 0,
    recipe: str | Recipe | None = None,
    noise: bool = True,
    blur: bool = True,
    progress: Callable[[str, float], None] | None = None,
) -> Simulation:
    """Simulate one cryo-SXT tomogram with exact ground truth.

    Parameters
    ----------
    profile : name, YAML path or SimProfile
        Instrument (``bessy-u41``, ``alba-mistral``, ``diamond-b24``).
    shape : (Z, Y, X)
        Voxels; Z is the beam direction at 0°, Y the tilt axis.
    seed : int
        Seed of every random choice (same seed → identical output).
    recipe : name or Recipe, optional
        ``periphery`` (default), ``perinuclear`` or ``yeast``.
    noise, blur : bool
        Switch off Poisson noise / zone-plate blur (for tests).
    progress : callable(stage, fraction), optional
        Called with the stage name and the fraction of the work done (0-1);
        during SIRT from worker threads.

    Returns
    -------
    Simulation
    """
    prof = load_profile(profile)
    rec = get_recipe(recipe)
    shape = tuple(int(s) for s in shape)  # type: ignore[assignment]
    if len(shape) != 3 or min(shape) < 4:
        raise InputError(f"shape must be 3 sizes >= 4 (Z,Y,X), got {shape}")
    ss = np.random.SeedSequence(int(seed))
    rng_scene, rng_img = (np.random.default_rng(s) for s in ss.spawn(2))
    v = prof.voxel_size_nm
    t: dict[str, float] = {}
    tick = time.perf_counter()

    def stage(name: str, frac: float) -> None:
        nonlocal tick
        now = time.perf_counter()
        t[name] = now - tick
        tick = now
        log.info("simulate: %s %.2f s", name, t[name])
        if progress is not None:
            progress(name, frac)

    ph = make_phantom(shape, voxel_size=v, seed=rng_scene, recipe=rec, energy_ev=prof.energy_ev)
    stage("phantom", 0.2)
    series = acquire(ph.lac, prof, rng=rng_img, noise=noise, blur=blur)
    angles = series.angles_deg
    stage("tilt series", 0.45)
    threads = default_threads()
    n_blocks = math.ceil(shape[1] / 32)  # column blocks of reconstruct.sirt
    done = [0]

    def sirt_step(n: int) -> None:
        done[0] += n
        if progress is not None:
            frac = done[0] / (prof.sirt_iterations * n_blocks)
            progress("sirt", 0.45 + 0.55 * min(frac, 1.0))

    tomo = reconstruct(series, iterations=prof.sirt_iterations, threads=threads, progress=sirt_step)
    stage("sirt", 1.0)
    vs = (v, v, v)
    labels = [
        TOMOGRAM_LABEL,
        f"profile {prof.name} recipe {rec.name} seed {seed} SIRT {prof.sirt_iterations} it",
    ]
    return Simulation(
        tomogram=Volume(tomo, vs, metadata={"labels": labels}),
        membranes=Volume(
            ph.membranes, vs, metadata={"labels": ["sxtseg simulate: membrane truth (15 nm), 0/1"]}
        ),
        instances=Volume(
            ph.instances, vs, metadata={"labels": ["sxtseg simulate: compartment instances"]}
        ),
        objects=ph.objects,
        tilt_angles=angles,
        phantom=Volume(ph.lac, vs, metadata={"labels": ["sxtseg simulate: true LAC, 1/um"]}),
        profile=prof,
        recipe=rec,
        seed=int(seed),
        timings=t,
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

    Files: tomogram.mrc (float32, µm⁻¹), membranes.mrc (uint8), instances.mrc
    (uint16), objects.csv, tilt_angles.tlt, preview_xy.png, preview_xz.png and,
    with ``phantom=True``, phantom.mrc (true LAC). Each file appears whole.
    """
    from sxtseg.io import write_tilt_angles, write_volume

    out = Path(out_dir)
    names = ["tomogram.mrc", "membranes.mrc", "instances.mrc", "objects.csv", "tilt_angles.tlt"]
    if not overwrite:
        clash = [n for n in names if (out / n).exists()]
        if clash:
            raise InputError(f"{out / clash[0]} exists; pass --overwrite to replace it")
    out.mkdir(parents=True, exist_ok=True)
    write_volume(out / "tomogram.mrc", sim.tomogram, overwrite=overwrite)
    write_volume(out / "membranes.mrc", sim.membranes, overwrite=overwrite)
    write_volume(out / "instances.mrc", sim.instances, overwrite=overwrite)
    if phantom:
        write_volume(out / "phantom.mrc", sim.phantom, overwrite=overwrite)
    tmp = out / ".objects.csv.tmp"
    sim.objects.to_csv(tmp, index=False, float_format="%.6g")
    tmp.replace(out / "objects.csv")
    write_tilt_angles(out / "tilt_angles.tlt", sim.tilt_angles, overwrite=overwrite)
    if previews:
        from sxtseg.simulate.preview import write_previews

        write_previews(sim.tomogram.data, sim.membranes.data, out)
    return out


def simulate_dataset(
    out_dir: str | Path,
    *,
    profile: str | Path | SimProfile = "bessy-u41",
    shape: tuple[int, int, int] = (64, 256, 256),
    seed: int = 0,
    count: int = 1,
    recipe: str | Recipe | None = None,
    overwrite: bool = False,
    phantom: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write ``count`` simulations to ``out_dir/000``, ``001``, ... reproducibly from ``seed``.

    Item i uses the seed ``seed * 1000003 + i`` (so sets drawn with different seeds
    do not share scenes); with ``recipe=None`` the recipes cycle through
    periphery, perinuclear, yeast. Returns the folders written.
    """
    if count < 1:
        raise InputError("count must be >= 1")
    from sxtseg.simulate.recipes import RECIPES

    names = list(RECIPES)
    out = Path(out_dir)
    written = []
    for i in range(count):
        rec = recipe if recipe is not None else names[i % len(names)]
        sim = simulate(profile, shape=shape, seed=int(seed) * 1000003 + i, recipe=rec)
        written.append(
            write_simulation(sim, out / f"{i:03d}", overwrite=overwrite, phantom=phantom)
        )
        if progress is not None:
            progress(1)
    return written
