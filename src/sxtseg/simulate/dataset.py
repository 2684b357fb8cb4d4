"""Simulate cryo-SXT tomograms with exact ground truth.

Pipeline of :func:`simulate`: phantom (µm⁻¹, partial volume) → tilt series about
Y over the profile's range → zone-plate blur growing with distance from the focal
plane → alignment jitter → Beer–Lambert transmission with Poisson noise at the
profile's dose → −log → SIRT (profile's iterations, 30 by default) → export
(XY binning, 8-bit; :mod:`sxtseg.simulate.export`). Writing to folders:
:mod:`sxtseg.simulate.files`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sxtseg.errors import InputError
from sxtseg.simulate.contrast import lac
from sxtseg.simulate.export import bin_mean, bin_mode, bin_truth, to_uint8
from sxtseg.simulate.imaging import acquire, reconstruct
from sxtseg.simulate.phantoms import Canvas, Grid
from sxtseg.simulate.profiles import SimProfile, load_profile
from sxtseg.simulate.randomize import randomize_profile, randomize_recipe
from sxtseg.simulate.recipes import Recipe, get_recipe
from sxtseg.simulate.reconstruct import default_threads
from sxtseg.simulate.scene import paint_scene
from sxtseg.types import Volume

__all__ = ["Phantom", "Simulation", "make_phantom", "simulate"]

log = logging.getLogger(__name__)

#: MRC header label of simulated tomograms (polarity!).
TOMOGRAM_LABEL = "sxtseg simulate: absorption (LAC, 1/um), dense = high"
#: MRC header label of 8-bit exports.
TOMOGRAM_LABEL_8BIT = "sxtseg simulate: 8-bit absorption, inverted: dense = dark (low)"


@dataclass
class Phantom:
    """A voxelised scene.

    Attributes
    ----------
    lac : ndarray float32 (Z, Y, X)
        Linear absorption coefficient in µm⁻¹ (partial volume).
    membranes : ndarray uint8 (Z, Y, X)
        1 where the voxel centre lies within 15 nm of a membrane surface.
    flat : ndarray uint8 (Z, Y, X)
        1 on membrane voxels hidden by the missing wedge: every membrane marking
        the voxel has its normal within 45° of Z (a subset of ``membranes``).
    instances : ndarray uint16 (Z, Y, X)
        Id of the innermost membrane-bounded compartment (0 = ice/outside).
    objects : DataFrame
        One row per object (see :func:`simulate`).
    voxel_size : float
        nm.
    """

    lac: np.ndarray
    membranes: np.ndarray
    flat: np.ndarray
    instances: np.ndarray
    objects: pd.DataFrame
    voxel_size: float


@dataclass
class Simulation:
    """A simulated tomogram with its ground truth (all volumes (Z, Y, X), voxel size in nm).

    Attributes
    ----------
    tomogram : Volume, float32 (or uint8)
        SIRT reconstruction, absorption in µm⁻¹ (dense = high); with a profile
        whose ``export_dtype`` is ``uint8``, 8 bits with dense = dark.
    membranes : Volume, uint8 0/1
        All membrane truth.
    flat : Volume, uint8 0/1
        The flat part of ``membranes`` (normal within 45° of Z).
    instances : Volume, uint16
    objects : DataFrame
    tilt_angles : ndarray, degrees
    phantom : Volume, float32
        The true absorption (µm⁻¹) before imaging.
    profile : SimProfile
    recipe : Recipe
    seed : int
    timings : dict of str -> seconds
    settings : dict
        What :mod:`sxtseg.simulate.files` writes to ``simulation.json``: seed,
        ``randomized``, the (drawn) profile and recipe settings, shapes, voxel
        size (z, y, x) nm, ``dense_high`` (tomogram polarity).
    """

    tomogram: Volume
    membranes: Volume
    flat: Volume
    instances: Volume
    objects: pd.DataFrame
    tilt_angles: np.ndarray
    phantom: Volume
    profile: SimProfile
    recipe: Recipe
    seed: int
    timings: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


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
    nz, ny, nx = (int(s) for s in shape)
    grid = Grid((nz, ny, nx), float(voxel_size))
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
        canvas.lac,
        canvas.truth.astype(np.uint8),
        canvas.flat.astype(np.uint8),
        canvas.instances,
        objects,
        float(voxel_size),
    )


def simulate(
    profile: str | Path | SimProfile = "bessy-u41",
    *,
    shape: tuple[int, int, int] = (64, 256, 256),
    seed: int = 0,
    recipe: str | Recipe | None = None,
    noise: bool = True,
    blur: bool = True,
    randomize: bool = False,
    progress: Callable[[str, float], None] | None = None,
) -> Simulation:
    """Simulate one cryo-SXT tomogram with exact ground truth.

    Parameters
    ----------
    profile : name, YAML path or SimProfile
        Instrument (see :data:`~sxtseg.simulate.profiles.PROFILE_NAMES`).
    shape : (Z, Y, X)
        Voxels of the written volumes; Z is the beam direction at 0°, Y the tilt
        axis. A profile with ``xy_bin`` b > 1 is simulated on (Z, b·Y, b·X) voxels.
    seed : int
        Seed of every random choice (same seed → identical output).
    recipe : name or Recipe, optional
        ``periphery`` (default), ``perinuclear`` or ``yeast``.
    noise, blur : bool
        Switch off Poisson noise / zone-plate blur (for tests).
    randomize : bool
        Draw the instrument (:func:`~sxtseg.simulate.randomize.randomize_profile`,
        from ``profile``) and the organelle contrast from ``seed``; the drawn
        settings are in :attr:`Simulation.settings` and :attr:`Simulation.profile`.
    progress : callable(stage, fraction), optional
        Called with the stage name and the fraction of the work done (0-1);
        during SIRT from worker threads.

    Returns
    -------
    Simulation
    """
    prof = load_profile(profile)
    rec = get_recipe(recipe)
    dims = tuple(int(s) for s in shape)
    if len(dims) != 3 or min(dims) < 4:
        raise InputError(f"shape must be 3 sizes >= 4 (Z,Y,X), got {dims}")
    shape = (dims[0], dims[1], dims[2])
    # children 0 and 1 are those of SeedSequence.spawn(2): unrandomised output is unchanged
    ss = np.random.SeedSequence(int(seed))
    rng_scene, rng_img, rng_rand = (np.random.default_rng(s) for s in ss.spawn(3))
    if randomize:
        prof = randomize_profile(prof, rng_rand)
        rec = randomize_recipe(rec, rng_rand)
    v, b = prof.voxel_size_nm, int(prof.xy_bin)
    grid_shape = (shape[0], shape[1] * b, shape[2] * b)
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

    ph = make_phantom(
        grid_shape, voxel_size=v, seed=rng_scene, recipe=rec, energy_ev=prof.energy_ev
    )
    stage("phantom", 0.2)
    series = acquire(ph.lac, prof, rng=rng_img, noise=noise, blur=blur)
    angles = series.angles_deg
    stage("tilt series", 0.45)
    threads = default_threads()
    n_blocks = math.ceil(grid_shape[1] / 32)  # column blocks of reconstruct.sirt
    done = [0]

    def sirt_step(n: int) -> None:
        done[0] += n
        if progress is not None:
            frac = done[0] / (prof.sirt_iterations * n_blocks)
            progress("sirt", 0.45 + 0.55 * min(frac, 1.0))

    tomo = reconstruct(series, iterations=prof.sirt_iterations, threads=threads, progress=sirt_step)
    stage("sirt", 1.0)
    return _export(ph, tomo, angles, prof, rec, int(seed), bool(randomize), t, grid_shape)


def _export(
    ph: Phantom,
    tomo: np.ndarray,
    angles: np.ndarray,
    prof: SimProfile,
    rec: Recipe,
    seed: int,
    randomized: bool,
    timings: dict[str, float],
    grid_shape: tuple[int, int, int],
) -> Simulation:
    """Bin, convert and wrap the simulated arrays as the instrument would export them."""
    b = int(prof.xy_bin)
    lac_out, membranes, flat, instances = ph.lac, ph.membranes, ph.flat, ph.instances
    objects = ph.objects
    if b > 1:
        tomo = bin_mean(tomo, b)
        lac_out = bin_mean(ph.lac, b)
        membranes, flat = bin_truth(ph.membranes, ph.flat, b)
        instances = bin_mode(ph.instances, b)
        objects = objects.copy()
        counts = np.bincount(instances.ravel(), minlength=int(objects["id"].max()) + 1)
        objects["voxels"] = counts[objects["id"].to_numpy()]
    vs = prof.output_voxel_size
    if b > 1:
        objects["voxel_volume_nm3"] = objects["voxels"] * float(np.prod(vs))
    # voxel (0, 0, 0) of a binned volume is centred between the fine voxels it averages
    half = 0.5 * (b - 1) * prof.voxel_size_nm
    origin = (0.0, half, half)
    dense_high = prof.export_dtype == "float32"
    labels = [
        TOMOGRAM_LABEL if dense_high else TOMOGRAM_LABEL_8BIT,
        f"profile {prof.name} recipe {rec.name} seed {seed} SIRT {prof.sirt_iterations} it",
    ]
    if not dense_high:
        tomo = to_uint8(tomo, clip_percent=prof.export_clip_percent)
    settings: dict[str, Any] = {
        "seed": seed,
        "randomized": randomized,
        "profile": asdict(prof),
        "recipe": rec.name,
        "contrast_scale": rec.contrast_scale,
        "shape": list(tomo.shape),
        "simulated_shape": list(grid_shape),
        "voxel_size_nm": list(vs),
        "tomogram_dtype": str(tomo.dtype),
        "dense_high": dense_high,
        "n_tilts": len(angles),
    }

    def vol(data: np.ndarray, label: str) -> Volume:
        return Volume(data, vs, origin=origin, metadata={"labels": [label]})

    return Simulation(
        tomogram=Volume(tomo, vs, origin=origin, metadata={"labels": labels}),
        membranes=vol(membranes, "sxtseg simulate: membrane truth (15 nm), 0/1"),
        flat=vol(flat, "sxtseg simulate: flat membrane truth (normal within 45 deg of Z), 0/1"),
        instances=vol(instances, "sxtseg simulate: compartment instances"),
        objects=objects,
        tilt_angles=angles,
        phantom=vol(lac_out, "sxtseg simulate: true LAC, 1/um"),
        profile=prof,
        recipe=rec,
        seed=seed,
        timings=timings,
        settings=settings,
    )
