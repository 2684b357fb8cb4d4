"""Defaults of the morphometry stage: one frozen dataclass each for objects and measurements."""

from __future__ import annotations

from dataclasses import dataclass

from sxtseg.errors import InputError
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
    in_slices : bool
        Also count background enclosed by a closed contour within its own XY
        slice (:func:`~sxtseg.morphometry.objects.enclosed_regions`): an
        organelle whose flat caps the missing wedge hides (and a model trained
        on visible membranes leaves out) is open above and below in 3D, but
        closed in every slice through its middle. Its volume then leaves out
        the cap slices.
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
    in_slices: bool = True
    membrane_steps: int = 4
    min_lumen_voxels: int = 27
    outline_ratio: float = 0.05
    split: bool = True
    split_depth_nm: float | None = None
    protrusion_radius_nm: float | None = None
    min_volume_nm3: float | None = None
    max_volume_nm3: float | None = None

    def __post_init__(self) -> None:
        """Check every value; a bad one is an :class:`~sxtseg.errors.InputError` (exit 2)."""
        if self.mode not in _MODES:
            raise InputError(f"objects setting: mode must be one of {_MODES}, got {self.mode!r}")
        object.__setattr__(self, "connectivity", check_connectivity(
            self.connectivity, name="objects setting: connectivity"
        ))
        lo, hi = self.min_volume_nm3, self.max_volume_nm3
        checks = [
            (self.membrane_steps >= 0, "membrane_steps must be >= 0", self.membrane_steps),
            (self.min_lumen_voxels >= 0, "min_lumen_voxels must be >= 0", self.min_lumen_voxels),
            (self.outline_ratio >= 0, "outline_ratio must be >= 0", self.outline_ratio),
            (self.split_depth_nm is None or self.split_depth_nm > 0,
             "split_depth_nm must be > 0", self.split_depth_nm),
            (self.protrusion_radius_nm is None or self.protrusion_radius_nm > 0,
             "protrusion_radius_nm must be > 0", self.protrusion_radius_nm),
            (lo is None or lo >= 0, "min_volume_nm3 must be >= 0", lo),
            (hi is None or hi > 0, "max_volume_nm3 must be > 0", hi),
            (lo is None or hi is None or hi >= lo, "max_volume_nm3 must be >= min_volume_nm3", hi),
        ]  # fmt: skip
        for ok, message, value in checks:
            if not ok:
                raise InputError(f"objects setting: {message}, got {value!r}")


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
        """Check every value; a bad one is an :class:`~sxtseg.errors.InputError` (exit 2)."""
        if self.smooth_iterations < 0:
            raise InputError(
                f"measure setting: smooth_iterations must be >= 0, got {self.smooth_iterations!r}"
            )
