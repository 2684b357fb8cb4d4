"""Defaults of the morphometry stage: one frozen dataclass each for objects and measurements."""

from __future__ import annotations

from dataclasses import dataclass

from sxtseg.types import check_connectivity

__all__ = ["MeasureConfig", "ObjectsConfig"]

_MODES = ("auto", "outlines", "filled")


@dataclass(frozen=True)
class ObjectsConfig:
    """How a binary mask becomes labelled objects (:func:`objects_from_mask`).

    Attributes
    ----------
    mode : {"auto", "outlines", "filled"}
        ``"outlines"``: the mask holds membranes; every region of background
        enclosed by them becomes a compartment (plus the membrane around it).
        ``"filled"``: the mask holds solid objects; its connected components
        (holes filled) are the objects. ``"auto"`` picks ``"outlines"`` when
        the enclosed background is at least ``outline_ratio`` times the mask
        or when the mask is thin (less than 10 % of it survives an erosion by
        ``membrane_steps`` voxels).
    connectivity : {1, 2, 3}
        Neighbourhood of the foreground components, in scipy's convention
        (:func:`sxtseg.types.check_connectivity`): 1 faces (6 neighbours),
        2 + edges (18), 3 + corners (26). The neighbour counts 6, 18 and 26
        are accepted and stored as 1, 2 and 3. Background regions always use
        faces (1), so a membrane that is closed for 26-connected voxels
        encloses its lumen.
    fill_slices : bool
        Also fill regions open only through the top or bottom of the volume:
        contours closed in every Z slice (objects cut by the slab's limits).
        Regions reaching a side face of the volume are never filled.
    membrane_steps : int
        In outlines mode, membrane voxels up to this many (largest) voxel
        sizes from a compartment or the outside go to the nearest of them
        (Euclidean, nm), so boundaries follow the membrane's mid-surface;
        4 splits membranes up to ~8 voxels thick. Mask components thicker
        than that which touch no compartment are solid objects.
    min_lumen_voxels : int
        Enclosed background regions smaller than this are holes in the mask,
        not compartments.
    outline_ratio : float
        The ``"auto"`` threshold (enclosed background voxels / mask voxels).
    split : bool
        Split touching objects with a seeded watershed on the Euclidean
        distance transform (in nm). Outline compartments are already separated
        by their membranes and are not split.
    split_depth_nm : float or None
        A neck must be this much thinner (in distance-to-surface, nm) than the
        smaller of the two bodies it joins to be cut (the h of the h-maxima
        seeds). ``None``: twice the largest voxel size.
    protrusion_radius_nm : float or None
        Cut protrusions thinner than twice this radius (filopodia, tubules)
        off thicker bodies and make them objects of their own (morphological
        opening by a ball of this radius, nm); None: off. Choose it between
        the protrusions' radius and the bodies' (e.g. 120 for 130 nm
        filopodia on a cell).
    min_volume_nm3, max_volume_nm3 : float or None
        Keep objects whose volume (voxels × voxel volume) lies in this range.
    """

    mode: str = "auto"
    connectivity: int = 1
    fill_slices: bool = True
    membrane_steps: int = 4
    min_lumen_voxels: int = 27
    outline_ratio: float = 0.05
    split: bool = True
    split_depth_nm: float | None = None
    protrusion_radius_nm: float | None = None
    min_volume_nm3: float | None = None
    max_volume_nm3: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {self.mode!r}")
        object.__setattr__(self, "connectivity", check_connectivity(self.connectivity))
        if self.membrane_steps < 0 or self.min_lumen_voxels < 0:
            raise ValueError("membrane_steps and min_lumen_voxels must be >= 0")
        if self.split_depth_nm is not None and self.split_depth_nm <= 0:
            raise ValueError("split_depth_nm must be > 0")
        if self.protrusion_radius_nm is not None and self.protrusion_radius_nm <= 0:
            raise ValueError("protrusion_radius_nm must be > 0")
        lo, hi = self.min_volume_nm3, self.max_volume_nm3
        if (lo is not None and lo < 0) or (hi is not None and hi <= 0):
            raise ValueError("volume limits must be positive")
        if lo is not None and hi is not None and hi < lo:
            raise ValueError("max_volume_nm3 must be >= min_volume_nm3")


@dataclass(frozen=True)
class MeasureConfig:
    """How objects are measured (:func:`measure_objects`).

    Attributes
    ----------
    smooth_iterations : int
        Taubin (λ, μ) pairs applied to the marching-cubes surface before the
        area and mesh volume are taken (removes the voxel staircase, which
        otherwise inflates areas by 7-10 %); also used for the section
        perimeters. 0 disables smoothing.
    sections : bool
        Compute the per-Z-slice cross-section statistics.
    feret : bool
        Compute the maximum Feret diameter (convex hull of the surface).
    """

    smooth_iterations: int = 15
    sections: bool = True
    feret: bool = True

    def __post_init__(self) -> None:
        if self.smooth_iterations < 0:
            raise ValueError("smooth_iterations must be >= 0")
