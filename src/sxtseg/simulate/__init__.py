"""Physically grounded cryo-SXT simulator with exact ground truth (numpy/scipy only).

Front door
----------
- :func:`simulate` — one tomogram + membrane truth (all and flat) + instances +
  objects table; ``randomize=True`` draws the instrument from the seed.
- :func:`write_simulation` — write it to a folder (MRC, CSV, TLT, JSON, PNG previews).
- :func:`simulate_dataset` — ``count`` reproducible simulations in subfolders.
- :func:`load_profile` / :class:`SimProfile` — instruments;
  :func:`randomize_profile` — a random one.
- :func:`get_recipe` / :class:`Recipe` — scenes.

See ``docs/simulator.md`` for the physics and its approximations.
"""

from sxtseg.simulate.dataset import Phantom, Simulation, make_phantom, simulate
from sxtseg.simulate.files import simulate_dataset, write_simulation
from sxtseg.simulate.profiles import PROFILE_NAMES, SimProfile, load_profile
from sxtseg.simulate.randomize import randomize_profile, randomize_recipe
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
    "randomize_profile",
    "randomize_recipe",
    "simulate",
    "simulate_dataset",
    "write_simulation",
]
