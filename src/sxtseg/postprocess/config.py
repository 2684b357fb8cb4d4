"""Settings of the post-processing stage (one frozen dataclass)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sxtseg.errors import InputError
from sxtseg.types import check_connectivity

__all__ = ["PostprocessConfig"]


@dataclass(frozen=True)
class PostprocessConfig:
    """What :func:`sxtseg.postprocess.postprocess` does to a binary mask.

    Every step is off by default, so the default config leaves a mask as it is.
    Lengths are in nm and volumes in nm³; they are turned into voxels with the
    voxel size, per axis (anisotropic voxels are handled).

    Attributes
    ----------
    min_volume_nm3 : float
        Remove connected objects smaller than this volume (0: keep all).
    border_nm : float
        Clear a band this wide along every face of the volume (0: none).
    border_objects : bool
        With ``border_nm``: remove whole objects that reach into the band,
        not just the voxels inside it.
    opening_nm, closing_nm, erosion_nm : float
        Radius of an ellipsoidal structuring element for a binary opening
        (removes thin spurs and specks), closing (bridges small gaps) and
        erosion (thins the mask); 0 skips the step. Order: opening, closing,
        erosion.
    cell_mask : bool
        Keep only voxels inside the cell mask (the dense connected region of
        the specimen, see :func:`sxtseg.postprocess.cell_mask`); needs the
        tomogram.
    cell_smooth_nm : float
        Gaussian smoothing (sigma) of the tomogram before the cell threshold.
    cell_dilate_nm : float
        Grow the cell mask by this distance so membranes at the cell surface stay.
    invert : bool
        The tomogram has dense = dark (the default assumes dense = high absorption).
    connectivity : {1, 2, 3}
        Neighbourhood of objects, in scipy's convention
        (:func:`sxtseg.types.check_connectivity`): 1 faces (6 neighbours),
        2 + edges (18), 3 + corners (26). 6, 18 and 26 are accepted and
        stored as 1, 2 and 3.
    """

    min_volume_nm3: float = 0.0
    border_nm: float = 0.0
    border_objects: bool = False
    opening_nm: float = 0.0
    closing_nm: float = 0.0
    erosion_nm: float = 0.0
    cell_mask: bool = False
    cell_smooth_nm: float = 100.0
    cell_dilate_nm: float = 200.0
    invert: bool = False
    connectivity: int = 3

    def __post_init__(self) -> None:
        for name in ("min_volume_nm3", "border_nm", "opening_nm", "closing_nm", "erosion_nm",
                     "cell_smooth_nm", "cell_dilate_nm"):  # fmt: skip
            value = float(getattr(self, name))
            if not math.isfinite(value) or value < 0:
                raise InputError(f"{name} must be a finite number >= 0, got {value!r}")
        object.__setattr__(self, "connectivity", check_connectivity(self.connectivity))

    @property
    def enabled(self) -> bool:
        """True when at least one step changes the mask."""
        return bool(
            self.min_volume_nm3 > 0
            or self.border_nm > 0
            or self.opening_nm > 0
            or self.closing_nm > 0
            or self.erosion_nm > 0
            or self.cell_mask
        )
