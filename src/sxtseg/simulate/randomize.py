"""Randomised instruments and samples for training data (``simulate(..., randomize=True)``).

One generator draws everything, in a fixed order, so a seed gives the same
settings (and the same files) every time. Ranges cover the cryo-SXT
instruments of ``shared/reference/sxt-physics.md`` and the exports seen in
practice:

===================  ==========================================================
voxel size           8-25 nm isotropic, or (with probability 0.3) anisotropic:
                     Z 8-12.5 nm and XY binned 2× (e.g. 20 × 20 × 10 nm x, y, z)
tilt range           ±55° to ±70° (whole degrees), the base profile's step
zone plate           25 or 40 nm
energy               500-520 eV
dose I0              1,000-10,000 photons per pixel per projection (log-uniform)
extra ice            0-6,000 nm of ice-equivalent material outside the box
alignment jitter     0.1-0.8 px
8-bit export         probability 0.3; dense = dark, min–max or 0.1/0.5/1 % clip
organelle contrast   organic fraction × 0.8-1.25 (recipe ``contrast_scale``)
===================  ==========================================================
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from sxtseg.simulate.profiles import SimProfile
from sxtseg.simulate.recipes import Recipe

__all__ = ["ANISOTROPIC_PROBABILITY", "UINT8_PROBABILITY", "randomize_profile", "randomize_recipe"]

#: Probability that a randomised instrument exports XY binned 2× (XY coarser than Z).
ANISOTROPIC_PROBABILITY = 0.3
#: Probability that a randomised instrument exports an 8-bit, dense = dark tomogram.
UINT8_PROBABILITY = 0.3


def randomize_profile(base: SimProfile, rng: np.random.Generator) -> SimProfile:
    """Draw a random instrument; fields not listed in the module table come from ``base``.

    Parameters
    ----------
    base : SimProfile
        Supplies the tilt step, SIRT iterations and focus offset.
    rng : numpy Generator
        Every value is drawn from it, always in the same order (8 draws and 2
        choices), so the generator's state after the call does not depend on
        the values drawn.

    Returns
    -------
    SimProfile
        Named ``<base>-random``; its ``description`` lists the drawn settings.
    """
    aniso = bool(rng.random() < ANISOTROPIC_PROBABILITY)
    u_voxel = float(rng.random())
    voxel = 8.0 + u_voxel * (12.5 - 8.0) if aniso else 8.0 + u_voxel * (25.0 - 8.0)
    voxel = round(voxel, 1)
    tilt = float(round(rng.uniform(55.0, 70.0)))
    zone_plate = float(rng.choice([25.0, 40.0]))
    energy = float(round(rng.uniform(500.0, 520.0)))
    dose = float(round(math.exp(rng.uniform(math.log(1000.0), math.log(10000.0)))))
    extra_ice = float(round(rng.uniform(0.0, 6000.0), -1))
    jitter = round(float(rng.uniform(0.1, 0.8)), 2)
    to8 = bool(rng.random() < UINT8_PROBABILITY)
    clip = float(rng.choice([0.0, 0.1, 0.5, 1.0]))
    b = 2 if aniso else 1
    export = "uint8" if to8 else "float32"
    desc = (
        f"randomised from {base.name}: {voxel:g} nm voxels"
        + (f" (XY {b * voxel:g} nm)" if b > 1 else "")
        + f", +-{tilt:g} deg, {zone_plate:g} nm zone plate, {energy:g} eV, I0 {dose:g},"
        f" {extra_ice:g} nm extra ice, jitter {jitter:g} px, {export}"
    )
    return replace(
        base,
        name=f"{base.name}-random",
        description=desc,
        energy_ev=energy,
        zone_plate_nm=zone_plate,
        voxel_size_nm=voxel,
        tilt_min_deg=-tilt,
        tilt_max_deg=tilt,
        dose_photons=dose,
        jitter_px=jitter,
        xy_bin=b,
        extra_ice_nm=extra_ice,
        export_dtype=export,
        export_clip_percent=clip if to8 else 0.0,
    )


def randomize_recipe(base: Recipe, rng: np.random.Generator) -> Recipe:
    """The recipe with a random ``contrast_scale`` (0.8-1.25, one draw from ``rng``).

    Scaling every compartment's organic fraction scales the LAC differences
    between compartments and the cytoplasm within about ±25 % of the measured
    ranges (Parkinson 2008, Uchida 2009), as between cell types and preparations.
    """
    return replace(base, contrast_scale=round(float(rng.uniform(0.8, 1.25)), 3))
