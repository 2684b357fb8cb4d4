"""Core value types: :class:`Volume` and voxel-size helpers.

Axis order is (Z, Y, X) everywhere; Z is the beam direction at 0° tilt and Y
the tilt axis. Lengths are in nanometres.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from sxtseg.errors import InputError

__all__ = [
    "CONNECTIVITY_NEIGHBOURS",
    "Spacing",
    "SpacingLike",
    "Volume",
    "check_connectivity",
    "check_spacing",
    "require_voxel_size",
]

#: Voxel size (z, y, x) in nm, as :func:`check_spacing` returns it.
Spacing = tuple[float, float, float]

#: A voxel size as callers give it: one isotropic size or (z, y, x), in nm
#: (a number, a sequence or an array of 1 or 3 numbers); :func:`check_spacing`
#: turns it into a :data:`Spacing`.
SpacingLike = float | Sequence[float] | np.ndarray

#: The old neighbour-count spellings of a 3D connectivity and the rank each means.
CONNECTIVITY_NEIGHBOURS = {6: 1, 18: 2, 26: 3}


def check_connectivity(value: Any, *, name: str = "connectivity") -> int:
    """Normalise a 3D voxel connectivity to scipy's and scikit-image's convention (1, 2 or 3).

    ``connectivity`` is the same number everywhere in sxtseg: the largest
    number of coordinates two neighbouring voxels may differ in, as in
    ``scipy.ndimage.generate_binary_structure(3, connectivity)`` and
    ``skimage.measure.label(..., connectivity=...)``:

    ====  ===========================  ==========
    rank  neighbours                   also given
    ====  ===========================  ==========
    1     faces (6)                    6
    2     faces + edges (18)           18
    3     faces + edges + corners (26) 26
    ====  ===========================  ==========

    The neighbour counts 6, 18 and 26 (the spelling morphometry used before)
    are accepted and converted to 1, 2 and 3.

    Parameters
    ----------
    value : int
        1, 2, 3, or 6, 18, 26.
    name : str
        Name used in the error message.

    Returns
    -------
    int
        1, 2 or 3.

    Raises
    ------
    InputError
        For any other value.

    Examples
    --------
    >>> check_connectivity(26)
    3
    >>> check_connectivity(1)
    1
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        v = int(value)
        if v in (1, 2, 3):
            return v
        if v in CONNECTIVITY_NEIGHBOURS:
            return CONNECTIVITY_NEIGHBOURS[v]
    raise InputError(
        f"{name} must be 1 (faces), 2 (+ edges) or 3 (+ corners), or the neighbour counts "
        f"6, 18 or 26, got {value!r}"
    )


def check_spacing(value: Any, *, name: str = "voxel_size") -> Spacing:
    """Validate and normalise a voxel size to a (z, y, x) tuple of floats in nm.

    Parameters
    ----------
    value : float or sequence of 3 floats
        One isotropic size or three sizes (z, y, x), in nm, all > 0 and finite.
    name : str
        Name used in the error message.

    Returns
    -------
    tuple of 3 floats
        (z, y, x) in nm.

    Raises
    ------
    InputError
        If the value is not positive and finite or has the wrong length.
    """
    vals: tuple[float, ...]
    if isinstance(value, (int, float, np.floating, np.integer)):
        vals = (float(value),) * 3
    else:
        try:
            vals = tuple(float(v) for v in value)
        except (TypeError, ValueError):
            raise InputError(f"{name} must be a number or 3 numbers (z,y,x) in nm") from None
        if len(vals) == 1:
            vals = vals * 3
    if len(vals) != 3 or not all(math.isfinite(v) and v > 0 for v in vals):
        raise InputError(f"{name} must be 1 or 3 positive numbers in nm, got {value!r}")
    return (vals[0], vals[1], vals[2])


@dataclass(frozen=True)
class Volume:
    """A tomogram or label volume with its physical frame.

    Attributes
    ----------
    data : array-like, shape (Z, Y, X)
        The voxels. May be a numpy array, a ``numpy.memmap`` or another
        array-like that supports slicing (e.g. a zarr array).
    voxel_size : tuple of 3 floats or None
        (z, y, x) voxel size in nm; ``None`` when the source did not say
        (never silently 1.0).
    origin : tuple of 3 floats
        (z, y, x) position of voxel (0, 0, 0) in nm.
    metadata : mapping
        Source metadata (format, path, header label, extended header, ...).
    """

    data: Any
    voxel_size: Spacing | None = None
    origin: Spacing = (0.0, 0.0, 0.0)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(Z, Y, X) shape."""
        s = tuple(int(v) for v in self.data.shape)
        return (s[0], s[1], s[2])

    @property
    def dtype(self) -> np.dtype:
        """Data type of the voxels."""
        return np.dtype(self.data.dtype)

    def with_data(self, data: Any, **changes: Any) -> Volume:
        """Return a copy of this volume's frame around new data of the same shape."""
        return replace(self, data=data, **changes)


def require_voxel_size(volume: Volume, override: Any = None, *, what: str = "this step") -> Spacing:
    """Return the voxel size to use, preferring an explicit override.

    Parameters
    ----------
    volume : Volume
        The volume whose header voxel size is used when no override is given.
    override : float or 3 floats, optional
        A ``--voxel-size`` value in nm.
    what : str
        What needs physical units, for the error message.

    Raises
    ------
    InputError
        If neither the header nor the override gives a voxel size.
    """
    if override is not None:
        return check_spacing(override)
    if volume.voxel_size is None:
        src = volume.metadata.get("path", "the input")
        raise InputError(
            f"{src} has no usable voxel size in its header; {what} needs one: pass --voxel-size NM"
        )
    return volume.voxel_size
