"""Sample data: a small simulated cryo-SXT tomogram with its membrane truth (about a second)."""

from __future__ import annotations

from typing import Any

from sxtseg.napari._layers import volume_kwargs

__all__ = ["SAMPLE_PROFILE", "SAMPLE_RECIPE", "SAMPLE_SHAPE", "simulated_tomogram"]

#: (Z, Y, X) voxels of the sample.
SAMPLE_SHAPE = (16, 96, 96)
#: Beamline profile and scene recipe of the sample (9.8 nm voxels; a yeast cell with
#: closed organelles, so "Objects & surfaces" has something to find).
SAMPLE_PROFILE, SAMPLE_RECIPE = "bessy-u41", "yeast"


def simulated_tomogram(
    *,
    shape: tuple[int, int, int] = SAMPLE_SHAPE,
    seed: int = 0,
    profile: str = SAMPLE_PROFILE,
    recipe: str = SAMPLE_RECIPE,
) -> list[tuple[Any, dict[str, Any], str]]:
    """npe2 sample-data hook: a simulated tomogram, its membranes and their flat part.

    Parameters
    ----------
    shape : (Z, Y, X)
    seed : int
    profile, recipe : str
        Simulator profile and recipe (see ``sxtseg simulate --help``).

    Returns
    -------
    list of (data, kwargs, layer_type)
        ``simulated tomogram`` (image, float32), ``membranes (truth)`` and
        ``flat membranes (truth)`` (labels, uint8), all with the simulator's
        voxel size in nm as scale.
    """
    from sxtseg.simulate import simulate

    sim = simulate(profile, shape=shape, seed=seed, recipe=recipe)
    vs, org = sim.tomogram.voxel_size, sim.tomogram.origin
    meta = {"profile": profile, "recipe": recipe, "seed": seed, "shape": list(shape)}
    tomo = volume_kwargs(vs, org, name="simulated tomogram", source="sxtseg.simulate")
    tomo["metadata"]["sxtseg"]["simulation"] = meta
    truth = volume_kwargs(vs, org, name="membranes (truth)", source="sxtseg.simulate",
                          opacity=0.5, visible=False)  # fmt: skip
    flat = volume_kwargs(vs, org, name="flat membranes (truth)", source="sxtseg.simulate",
                         opacity=0.5, visible=False)  # fmt: skip
    return [
        (sim.tomogram.data, tomo, "image"),
        (sim.membranes.data, truth, "labels"),
        (sim.flat.data, flat, "labels"),
    ]
