"""Scene recipes: which compartments a phantom holds, how many and how large (nm).

A recipe is data (a frozen dataclass); :mod:`sxtseg.simulate.scene` turns it
into objects. Counts of small organelles are densities per µm³ of cytoplasm
inside the simulated box, so they scale with the box. Sizes are diameters
unless the name says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sxtseg.errors import InputError

__all__ = ["RECIPES", "Recipe", "get_recipe"]

Range = tuple[float, float]


@dataclass(frozen=True)
class Recipe:
    """Scene recipe (all lengths in nm, densities per µm³ of cytoplasm).

    Attributes
    ----------
    cell : {"edge", "slab", "round"}
        ``edge``: the thin periphery of an adherent cell with a free edge in the
        field of view; ``slab``: a thick region that fills the field of view (the
        top surface may lie above the box); ``round``: a round (yeast-like) cell.
    cell_thickness_nm : range
        Thickness of ``edge``/``slab`` cells far from the edge; the top surface is
        kept inside the box when ``keep_top_in_box``. With ``bottom_in_box=False`` the
        box is a crop at mid-height of a thick cell (no support film, no lower
        surface): the lower surface lies 1.5-4 µm below the box and the thickness
        is raised where needed so that the top surface stays at least 800 nm above
        the box everywhere, so the whole box is cell.
    cell_fraction : range
        Fraction of the lateral field covered by an ``edge`` cell.
    cell_diameter_nm, cell_wall_nm : range
        Size of a ``round`` cell (limited to the field of view) and its wall.
    open_field : bool
        The field deliberately shows ice beside the cell (the free edge of an
        adherent cell). Otherwise at most about half of a box (at least ~3× wider
        than tall) is ice.
    contrast_scale : float
        Factor on every compartment's organic volume fraction φ (not on
        membranes, gold, film or ice): scales LAC − LAC_water and so the
        contrast between compartments (1 = the measured ranges).
    """

    name: str
    description: str
    cell: str = "edge"
    cell_thickness_nm: Range = (1000.0, 5000.0)
    keep_top_in_box: bool = True
    bottom_in_box: bool = True
    cell_fraction: Range = (0.5, 0.7)
    cell_diameter_nm: Range = (3000.0, 5000.0)
    cell_wall_nm: Range = (0.0, 0.0)
    support_film_probability: float = 0.6
    film_thickness_nm: Range = (15.0, 30.0)
    gold_per_um2: Range = (0.0, 0.3)
    gold_diameter_nm: Range = (100.0, 250.0)
    filopodia: tuple[int, int] = (0, 0)
    filopodium_diameter_nm: Range = (80.0, 250.0)
    filopodium_length_nm: Range = (300.0, 3000.0)
    nucleus: bool = False
    nucleus_diameter_nm: Range = (5000.0, 9000.0)
    envelope_gap_nm: Range = (25.0, 45.0)
    vacuole: tuple[int, int] = (0, 0)
    vacuole_diameter_nm: Range = (500.0, 1600.0)
    mitochondria_density: Range = (0.4, 1.0)
    mitochondrion_diameter_nm: Range = (180.0, 450.0)
    mitochondrion_length_nm: Range = (400.0, 2500.0)
    vesicle_density: Range = (4.0, 10.0)
    vesicle_diameter_nm: Range = (50.0, 180.0)
    endosome_density: Range = (0.8, 2.0)
    endosome_diameter_nm: Range = (150.0, 500.0)
    lysosome_density: Range = (0.3, 1.0)
    lysosome_diameter_nm: Range = (200.0, 800.0)
    lipid_droplet_density: Range = (0.2, 0.8)
    lipid_droplet_diameter_nm: Range = (150.0, 700.0)
    er_tubule_density: Range = (1.0, 3.0)
    er_tubule_diameter_nm: Range = (40.0, 90.0)
    er_tubule_length_nm: Range = (500.0, 2500.0)
    er_sheet_density: Range = (0.2, 0.8)
    er_sheet_diameter_nm: Range = (300.0, 1200.0)
    er_sheet_thickness_nm: Range = (35.0, 60.0)
    texture: float = 0.25
    open_field: bool = False
    contrast_scale: float = 1.0


RECIPES: dict[str, Recipe] = {
    "periphery": Recipe(
        name="periphery",
        description="thin periphery of an adherent cell with filopodia, on a support film",
        cell="edge",
        cell_thickness_nm=(1000.0, 5000.0),
        filopodia=(3, 8),
        mitochondria_density=(1.0, 2.0),
        mitochondrion_diameter_nm=(150.0, 300.0),
        gold_per_um2=(0.05, 0.3),
        open_field=True,
    ),
    "perinuclear": Recipe(
        name="perinuclear",
        description="perinuclear region: nucleus with double envelope and nucleolus",
        cell="slab",
        cell_thickness_nm=(3000.0, 8000.0),
        keep_top_in_box=False,
        bottom_in_box=False,
        nucleus=True,
        support_film_probability=0.3,
        mitochondria_density=(1.0, 2.0),
        er_sheet_density=(0.6, 1.5),
        lipid_droplet_density=(0.3, 1.0),
        gold_per_um2=(0.0, 0.1),
    ),
    "yeast": Recipe(
        name="yeast",
        description="round yeast-like cell with cell wall, vacuole, nucleus and lipid droplets",
        cell="round",
        cell_diameter_nm=(3000.0, 5000.0),
        cell_wall_nm=(80.0, 160.0),
        nucleus=True,
        nucleus_diameter_nm=(1200.0, 2000.0),
        vacuole=(1, 2),
        support_film_probability=0.0,
        lipid_droplet_density=(0.5, 1.5),
        lipid_droplet_diameter_nm=(150.0, 450.0),
        mitochondrion_diameter_nm=(150.0, 350.0),
        mitochondrion_length_nm=(300.0, 1200.0),
        mitochondria_density=(1.0, 2.5),
        er_sheet_density=(0.2, 0.5),
        gold_per_um2=(0.0, 0.15),
    ),
}


def get_recipe(recipe: str | Recipe | None, **overrides: Any) -> Recipe:
    """A recipe by name (``periphery``, ``perinuclear``, ``yeast``) or passed through.

    ``None`` means ``periphery``. Overrides replace fields.
    """
    if recipe is None:
        recipe = "periphery"
    if isinstance(recipe, str):
        if recipe not in RECIPES:
            raise InputError(f"unknown recipe {recipe!r} (known: {', '.join(RECIPES)})")
        recipe = RECIPES[recipe]
    return replace(recipe, **overrides) if overrides else recipe
