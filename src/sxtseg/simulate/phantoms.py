"""Voxelise analytic scenes: absorption, membrane truth and instances on a grid.

The grid has voxel centres at ``index · voxel_size`` nm (origin 0). Shapes are
evaluated through their signed distance d (nm) on a local window, and painted
by partial volume:

- filled interiors: fraction ``clip(0.5 − d/v, 0, 1)`` of the voxel (v = voxel size);
- lipid layers (bilayers of 4–8 nm, sub-voxel at 10 nm voxels): the overlap of
  the voxel's extent along the normal, ``[d − v/2, d + v/2]``, with the layer
  ``[d₀ − t/2, d₀ + t/2]``, divided by v;
- membrane truth: voxels whose centre lies within ``truth_nm`` (15 nm) of a surface;
  a truth voxel is *flat* where the surface normal there (the gradient of d)
  lies within 45° of Z, the beam at 0° tilt (|n_z| ≥ cos 45°), and *visible*
  otherwise; a voxel marked by several surfaces is visible if any of them is;
- instances: voxel centres inside (d < 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sxtseg.simulate.shapes import Shape, Tube

__all__ = ["Canvas", "Grid", "LocalField", "layer_fraction", "local_sdf", "visible_band"]

#: Membrane truth half-width: voxel centres within this distance (nm) of a membrane surface.
TRUTH_NM = 15.0

#: A membrane is flat (hidden by the missing wedge) where |n_z| >= this (cos 45°).
FLAT_COS = math.cos(math.radians(45.0))


@dataclass(frozen=True)
class Grid:
    """A voxel grid: ``shape`` (Z, Y, X) and isotropic ``voxel_size`` in nm."""

    shape: tuple[int, int, int]
    voxel_size: float

    @property
    def extent_nm(self) -> np.ndarray:
        """Size (z, y, x) of the box in nm."""
        return np.asarray(self.shape, float) * self.voxel_size

    def coords(self, axis: int, sl: slice | None = None) -> np.ndarray:
        """Voxel-centre coordinates (nm) along ``axis`` for the index slice ``sl``."""
        idx = np.arange(self.shape[axis])[sl if sl is not None else slice(None)]
        return idx.astype(np.float64) * self.voxel_size

    def window(self, lo: np.ndarray, hi: np.ndarray) -> tuple[slice, slice, slice] | None:
        """Index slices of the voxels whose centres lie in [lo, hi] nm; None if empty."""
        out = []
        for ax in range(3):
            a = max(0, math.ceil(lo[ax] / self.voxel_size))
            b = min(self.shape[ax], math.floor(hi[ax] / self.voxel_size) + 1)
            if b <= a:
                return None
            out.append(slice(a, b))
        return (out[0], out[1], out[2])

    def open_grid(self, sl: tuple[slice, slice, slice]) -> tuple[np.ndarray, ...]:
        """Broadcastable float32 (z, y, x) coordinate arrays in nm for a window."""
        z = self.coords(0, sl[0]).astype(np.float32)[:, None, None]
        y = self.coords(1, sl[1]).astype(np.float32)[None, :, None]
        x = self.coords(2, sl[2]).astype(np.float32)[None, None, :]
        return z, y, x

    def inside(self, lo: np.ndarray, hi: np.ndarray) -> bool:
        """True when the box [lo, hi] nm lies within the voxel-centre range of the grid."""
        top = (np.asarray(self.shape) - 1) * self.voxel_size
        return bool(np.all(lo >= 0) and np.all(hi <= top))


@dataclass
class LocalField:
    """A signed distance (nm) on a window of the grid.

    Attributes
    ----------
    window : tuple of 3 slices
    d : ndarray, float32, shape of the window
    """

    window: tuple[slice, slice, slice]
    d: np.ndarray


def local_sdf(shape: Shape, grid: Grid, *, margin: float) -> LocalField | None:
    """Evaluate ``shape``'s signed distance on its bounding box grown by ``margin`` nm.

    Tubes are evaluated segment by segment on each segment's own box (fast for
    long thin tubes); far from every segment the value is +inf.
    """
    lo, hi = shape.bounds()
    win = grid.window(lo - margin, hi + margin)
    if win is None:
        return None
    if not isinstance(shape, Tube):
        z, y, x = grid.open_grid(win)
        return LocalField(win, shape.sdf(z, y, x).astype(np.float32))
    d = np.full(tuple(s.stop - s.start for s in win), np.inf, dtype=np.float32)
    for i in range(len(shape.points) - 1):
        slo, shi = shape.segment_bounds(i)
        sub = grid.window(slo - margin, shi + margin)
        if sub is None:
            continue
        z, y, x = grid.open_grid(sub)
        rel = tuple(slice(s.start - w.start, s.stop - w.start) for s, w in zip(sub, win))
        np.minimum(d[rel], shape.segment_sdf(i, z, y, x), out=d[rel])
    return LocalField(win, d)


def visible_band(d: np.ndarray, band: np.ndarray, *, voxel: float) -> np.ndarray:
    """Which voxels of ``band`` lie on a *visible* (not flat) part of the surface.

    The surface normal is the gradient of the signed distance ``d``, by central
    differences (one-sided at the window border or next to a non-finite value,
    e.g. +inf far from every segment of a tube), computed only at the voxels of
    ``band``. A voxel is flat where ``|n_z| >= cos 45°``; where the gradient
    vanishes (no defined normal) it counts as visible.

    Parameters
    ----------
    d : ndarray float, shape (z, y, x)
        Signed distance in nm on a window of an isotropic grid.
    band : ndarray bool, same shape
        Voxels to classify (the truth band of the surface).
    voxel : float
        Voxel size in nm.

    Returns
    -------
    ndarray bool, same shape
        True at voxels of ``band`` whose normal is more than 45° from Z.
    """
    out = np.zeros(d.shape, dtype=bool)
    lin = np.flatnonzero(band)
    if lin.size == 0:
        return out
    flat_d = d.reshape(-1)
    d0 = flat_d[lin].astype(np.float64)
    idx = np.unravel_index(lin, d.shape)
    strides = np.cumprod((1, *d.shape[:0:-1]))[::-1]  # elements per step along z, y, x
    grad = []
    for ax in range(3):
        i = idx[ax]
        up = i < d.shape[ax] - 1
        dn = i > 0
        dp = np.where(up, flat_d[np.where(up, lin + strides[ax], lin)], np.nan).astype(np.float64)
        dm = np.where(dn, flat_d[np.where(dn, lin - strides[ax], lin)], np.nan).astype(np.float64)
        okp, okm = np.isfinite(dp), np.isfinite(dm)
        steps = okp.astype(np.float64) + okm.astype(np.float64)
        diff = np.where(okp, dp, d0) - np.where(okm, dm, d0)
        grad.append(np.where(steps > 0, diff / np.maximum(steps, 1.0) / voxel, 0.0))
    gz, gy, gx = grad
    norm = np.sqrt(gz * gz + gy * gy + gx * gx)
    flat = (norm > 1e-9) & (np.abs(gz) >= FLAT_COS * norm)
    out.reshape(-1)[lin] = ~flat
    return out


def layer_fraction(d: np.ndarray, *, thickness: float, voxel: float, offset: float = 0.0) -> Any:
    """Fraction of each voxel occupied by a layer of ``thickness`` nm centred at d = offset.

    Uses the voxel's extent along the surface normal, ``[d − v/2, d + v/2]``.
    """
    lo = np.maximum(d - 0.5 * voxel, offset - 0.5 * thickness)
    hi = np.minimum(d + 0.5 * voxel, offset + 0.5 * thickness)
    return np.clip(hi - lo, 0.0, None) / voxel


@dataclass
class Canvas:
    """Arrays being painted, all (Z, Y, X).

    Attributes
    ----------
    lac : float32, µm⁻¹
    truth : bool, membrane truth
    visible : bool, truth voxels on a visible (not flat) part of some membrane
    instances : uint16, 0 = none
    occupied : bool, voxels reserved by placed objects (for non-overlapping placement)
    rows : list of dict, one per object (the objects table)
    """

    grid: Grid
    background_lac: float
    lac: np.ndarray = field(init=False)
    truth: np.ndarray = field(init=False)
    visible: np.ndarray = field(init=False)
    instances: np.ndarray = field(init=False)
    occupied: np.ndarray = field(init=False)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        shp = self.grid.shape
        self.lac = np.full(shp, self.background_lac, dtype=np.float32)
        self.truth = np.zeros(shp, dtype=bool)
        self.visible = np.zeros(shp, dtype=bool)
        self.instances = np.zeros(shp, dtype=np.uint16)
        self.occupied = np.zeros(shp, dtype=bool)

    @property
    def next_id(self) -> int:
        """Id the next registered object gets (1-based)."""
        return len(self.rows) + 1

    def fill(self, f: LocalField, lac: float | np.ndarray, *, where: Any = None) -> None:
        """Paint the interior (d < 0) with ``lac`` by partial volume."""
        frac = np.clip(0.5 - f.d / self.grid.voxel_size, 0.0, 1.0)
        if where is not None:
            frac = frac * where
        view = self.lac[f.window]
        view += (np.float32(lac) - view) * frac.astype(np.float32)

    def layer(
        self, f: LocalField, lac: float, *, thickness: float, offset: float = 0.0, where: Any = None
    ) -> None:
        """Paint a thin layer (membrane, film) of ``thickness`` nm centred at d = offset."""
        frac = layer_fraction(f.d, thickness=thickness, voxel=self.grid.voxel_size, offset=offset)
        if where is not None:
            frac = frac * where
        view = self.lac[f.window]
        view += (np.float32(lac) - view) * frac.astype(np.float32)

    def mark_truth(self, f: LocalField, *, offset: float = 0.0, where: Any = None) -> None:
        """Add voxels with centres within :data:`TRUTH_NM` of the surface d = offset.

        Those on a part of the surface whose normal is more than 45° from Z are
        also marked visible (see :func:`visible_band`).
        """
        m = np.abs(f.d - offset) <= TRUTH_NM
        if where is not None:
            m &= where
        self.truth[f.window] |= m
        self.visible[f.window] |= visible_band(f.d, m, voxel=self.grid.voxel_size)

    @property
    def flat(self) -> np.ndarray:
        """bool (Z, Y, X): membrane truth hidden by the missing wedge (truth & ~visible)."""
        return self.truth & ~self.visible

    def label(self, f: LocalField, obj_id: int, *, where: Any = None) -> None:
        """Set the instance id of voxel centres inside the shape."""
        m = f.d < 0
        if where is not None:
            m &= where
        self.instances[f.window][m] = obj_id

    def fits(self, f: LocalField, *, gap: float, container: np.ndarray | None = None) -> bool:
        """True when the shape grown by ``gap`` nm overlaps no placed object and,
        with ``container`` (signed distance of the enclosing compartment, full grid),
        its interior stays ``gap`` nm inside the container."""
        m = f.d < gap
        if not m.any() or (self.occupied[f.window] & m).any():
            return False
        if container is not None and (container[f.window][f.d < 0] > -gap).any():
            return False
        return True

    def reserve(self, f: LocalField, *, gap: float) -> None:
        """Mark the shape grown by ``gap`` nm as occupied."""
        self.occupied[f.window] |= f.d < gap

    def register(self, kind: str, shape: Shape | None, **extra: Any) -> int:
        """Add a row to the objects table and return the new id."""
        obj_id = self.next_id
        row: dict[str, Any] = {"id": obj_id, "kind": kind}
        if shape is not None:
            lo, hi = shape.bounds()
            center = 0.5 * (lo + hi)
            row.update(
                volume_nm3=shape.volume if shape.exact or kind != "filopodium" else math.nan,
                surface_nm2=shape.area,
                analytic=bool(shape.exact),
                center_z_nm=float(center[0]),
                center_y_nm=float(center[1]),
                center_x_nm=float(center[2]),
                clipped=not self.grid.inside(lo, hi),
            )
        row.update(extra)
        self.rows.append(row)
        return obj_id
