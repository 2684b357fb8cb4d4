"""Physically grounded cryo-SXT simulator with exact ground truth (numpy/scipy only).

Front door
----------
- :func:`simulate` — one tomogram + membrane truth + instances + objects table.
- :func:`write_simulation` — write it to a folder (MRC, CSV, TLT, PNG previews).
- :func:`simulate_dataset` — ``count`` reproducible simulations in subfolders.
- :func:`load_profile` / :class:`SimProfile` — instruments.
- :func:`get_recipe` / :class:`Recipe` — scenes.

See ``docs/simulator.md`` for the physics and its approximations.
"""

from sxtseg.simulate.dataset import (
    Phantom,
    Simulation,
    make_phantom,
    simulate,
    simulate_dataset,
    write_simulation,
)
from sxtseg.simulate.profiles import PROFILE_NAMES, SimProfile, load_profile
from sxtseg.simulate.recipes import RECIPES, Recipe, get_recipe

__all__ = [
    "PROFILE_NAMES",
    "RECIPES",
    "Phantom",
    "Recipe",
    "SimProfile",
    "Simulation",
    "get_recipe",
    "load_profile",
    "make_phantom",
    "simulate",
    "simulate_dataset",
    "write_simulation",
]
