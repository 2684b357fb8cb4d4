"""Build a cell scene from a recipe and paint it onto a :class:`~sxtseg.simulate.phantoms.Canvas`.

Order: cell body (plasma membrane, with filopodia) → organelles placed without
overlap inside the cytoplasm (largest first) → cytoplasm texture → support film →
gold fiducials in the ice. Every random choice comes from the generator passed in.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from sxtseg.simulate.contrast import COMPARTMENTS, lac, mixture_lac
from sxtseg.simulate.organelles import OrganelleMixin
from sxtseg.simulate.phantoms import Canvas, Grid, LocalField, local_sdf
from sxtseg.simulate.recipes import Recipe
from sxtseg.simulate.shapes import Ellipsoid, Shape, Sphere, Tube, bent_path

__all__ = ["paint_scene"]

SdfFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
_ATTEMPTS = 40


class _Painter(OrganelleMixin):
    def __init__(self, canvas: Canvas, recipe: Recipe, rng: np.random.Generator, energy: float):
        self.c, self.r, self.rng, self.e = canvas, recipe, rng, energy
        self.g: Grid = canvas.grid
        self.v = self.g.voxel_size
        nz, ny, nx = self.g.shape
        self.full = (slice(0, nz), slice(0, ny), slice(0, nx))
        self.ice = canvas.background_lac
        self.top_lo = math.inf  # lowest point (nm) of a slab cell's top surface

    # -- helpers --------------------------------------------------------------
    def u(self, rng_pair: tuple[float, float]) -> float:
        return float(self.rng.uniform(*rng_pair))

    def contrast(self, kind: str) -> float:
        return COMPARTMENTS[kind].draw(self.rng, self.e, scale=self.r.contrast_scale)

    def membrane_lac(self) -> float:
        """Lipid bilayer with its embedded and attached proteins: ≈0.85-1.1 µm⁻¹."""
        phi_l, phi_p = self.u((0.5, 0.7)), self.u((0.15, 0.3))
        return mixture_lac({"phospholipid": phi_l, "protein": phi_p}, self.e)

    def bilayer(self, f: LocalField, *, offset: float = 0.0, where: np.ndarray | None = None):
        self.c.layer(
            f, self.membrane_lac(), thickness=self.u((6.0, 9.0)), offset=offset, where=where
        )

    def count(self, density: tuple[float, float], volume_um3: float) -> int:
        return int(self.rng.poisson(self.u(density) * volume_um3))

    def random_point(self) -> np.ndarray:
        """A uniformly random point (nm) in the box."""
        return self.rng.uniform(0, 1, 3) * (np.asarray(self.g.shape) - 1) * self.v

    def direction(self, *, up: bool = False) -> np.ndarray:
        """A random unit vector (z, y, x); in flat cells biased into the XY plane
        (``up=False``) or towards Z (``up=True``)."""
        d = self.rng.normal(size=3)
        if self.r.cell != "round":
            d[0] *= 2.5 if up else 0.3
        return d / max(float(np.linalg.norm(d)), 1e-9)

    def orientation(self, *, up: bool = False) -> np.ndarray:
        """A rotation whose first body axis is :meth:`direction`."""
        a = self.direction(up=up)
        b = self.rng.normal(size=3)
        b -= (b @ a) * a
        b /= max(float(np.linalg.norm(b)), 1e-9)
        return np.stack([a, b, np.cross(a, b)], axis=1)

    def inner_point(self) -> np.ndarray:
        """A random point (nm) at least 30 nm inside the cytoplasm (box point if none)."""
        if self.inner.size == 0:
            return self.random_point()
        idx = np.unravel_index(self.inner[self.rng.integers(self.inner.size)], self.g.shape)
        return (np.asarray(idx, float) + self.rng.uniform(-0.5, 0.5, 3)) * self.v

    # -- cell body --------------------------------------------------------------
    def cell(self) -> None:
        r, g, rng = self.r, self.g, self.rng
        ez, ey, ex = (np.asarray(g.shape) - 1) * self.v
        self.film_z = None
        if rng.random() < r.support_film_probability:
            t = self.u(r.film_thickness_nm)
            self.film_z = (self.u((0.04, 0.12)) * ez + 0.5 * t, t)
        z_bot = (
            (self.film_z[0] + 0.5 * self.film_z[1]) if self.film_z else self.u((0.05, 0.15)) * ez
        )
        if not r.bottom_in_box and r.cell != "round":
            # a crop at mid-height of a thick cell: the lower surface lies below the box
            self.film_z = None
            z_bot = -self.u((1500.0, 4000.0))
        self.z_bot = z_bot
        cy, cx = 0.5 * ey, 0.5 * ex
        if r.cell == "round":
            rad = min(0.5 * self.u(r.cell_diameter_nm), 0.46 * min(ey, ex))
            axes = (rad * self.u((0.9, 1.0)), rad, rad * self.u((0.85, 1.0)))
            center = np.array([0.5 * ez, cy, cx]) + rng.normal(0, 0.02 * rad, 3)
            shape = Ellipsoid(center, axes, np.eye(3))
            self.cell_shape: Shape | None = shape
            self.cell_fn: SdfFn = shape.sdf
        else:
            thick = self.u(r.cell_thickness_nm)
            if r.keep_top_in_box:
                thick = min(thick, ez - z_bot - max(0.08 * ez, 3 * self.v))
            ang = rng.uniform(0, 2 * math.pi)
            n = np.array([math.sin(ang), math.cos(ang)])  # (y, x), points into the cell
            side = math.hypot(ey * n[0], ex * n[1]) + 1e-9
            frac = self.u(r.cell_fraction) if r.cell == "edge" else 5.0
            offset = (frac - 0.5) * side
            amp, wl, ph = self.u((40.0, 250.0)), self.u((800.0, 3000.0)), rng.uniform(0, 6.3)
            l_edge = self.u((250.0, 900.0))
            und_a, und_wl, und_ph = (
                self.u((0.0, 0.08)) * thick,
                self.u((1500, 4000)),
                rng.uniform(0, 6.3),
            )
            tall = r.cell != "edge"
            self.top_lo = z_bot + thick - und_a
            if not r.bottom_in_box:
                # a crop at mid-height: the top surface stays >= 800 nm above the box
                thick = max(thick, ez + 800.0 + und_a - z_bot)
                self.top_lo = z_bot + thick - und_a

            def s_fn(y: np.ndarray, x: np.ndarray) -> np.ndarray:
                a = (y - cy) * n[0] + (x - cx) * n[1]
                t = -(y - cy) * n[1] + (x - cx) * n[0]
                return a + offset + amp * np.sin(2 * math.pi * t / wl + ph)

            def top_fn(y: np.ndarray, x: np.ndarray) -> np.ndarray:
                s = np.maximum(s_fn(y, x), 0.0)
                prof = 1.0 if tall else np.sqrt(1.0 - np.exp(-s / l_edge))
                wav = und_a * np.sin(2 * math.pi * (y * 0.6 + x * 0.8) / und_wl + und_ph)
                return z_bot + thick * prof + wav

            def cell_fn(z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
                return np.maximum(np.maximum(z_bot - z, z - top_fn(y, x)), -s_fn(y, x))

            self.cell_shape, self.cell_fn, self.s_fn, self.top_fn = None, cell_fn, s_fn, top_fn
            self.edge_normal = n
        z, y, x = g.open_grid(self.full)
        self.d_cell = self.cell_fn(z, y, x).astype(np.float32)
        self.d_pm = self.d_cell.copy()
        filos = self.filopodia() if r.filopodia[1] > 0 and r.cell == "edge" else []
        # paint the cytoplasm, filopodia, plasma membrane
        cell_lac = self.contrast("cytoplasm")
        extra = {}
        if self.cell_shape is not None:
            extra = {"volume_nm3": self.cell_shape.volume, "surface_nm2": self.cell_shape.area}
        self.cell_id = self.c.register("cell", None, lac_per_um=cell_lac, **extra)
        fcell = LocalField(self.full, self.d_cell)
        if r.cell_wall_nm[1] > 0:
            w = self.u(r.cell_wall_nm)
            self.c.layer(fcell, self.contrast("cell_wall"), thickness=w, offset=0.5 * w)
        self.c.fill(fcell, cell_lac)
        self.c.label(fcell, self.cell_id)
        for tube, f, length in filos:
            fl = self.contrast("filopodium")
            fid = self.c.register(
                "filopodium",
                tube,
                lac_per_um=fl,
                diameter_nm=2 * tube.radius,
                length_nm=length,
                volume_nm3=math.nan,
                surface_nm2=math.nan,
                analytic=False,
            )
            self.c.fill(f, fl)
            self.c.label(f, fid, where=self.d_cell[f.window] >= 0)
        fpm = LocalField(self.full, self.d_pm)
        self.c.mark_truth(fpm)
        self.bilayer(fpm)
        self.c.occupied |= self.d_pm > -20.0
        self.inner = np.flatnonzero(self.d_cell < -30.0)

    def filopodia(self) -> list[tuple[Tube, LocalField, float]]:
        r, rng = self.r, self.rng
        out: list[tuple[Tube, LocalField, float]] = []
        n_target = int(rng.integers(r.filopodia[0], r.filopodia[1] + 1))
        _ez, ey, ex = (np.asarray(self.g.shape) - 1) * self.v
        for _ in range(n_target * _ATTEMPTS):
            if len(out) >= n_target:
                break
            rad = 0.5 * self.u(r.filopodium_diameter_nm)
            y0, x0 = rng.uniform(0, ey), rng.uniform(0, ex)
            s = float(self.s_fn(np.array(y0), np.array(x0)))
            top = float(self.top_fn(np.array(y0), np.array(x0)))
            if not (80.0 < s < 500.0) or top - self.z_bot < 2 * rad + 30:
                continue
            z0 = self.z_bot + rad + 10 + rng.uniform(0, max(top - self.z_bot - 2 * rad - 20, 1))
            az = math.atan2(-self.edge_normal[0], -self.edge_normal[1]) + rng.uniform(-1.2, 1.2)
            el = rng.uniform(-0.25, 0.6)
            d = np.array([math.sin(el), math.cos(el) * math.sin(az), math.cos(el) * math.cos(az)])
            length = self.u(r.filopodium_length_nm) + s
            pts = bent_path(
                rng,
                np.array([z0, y0, x0]),
                d,
                length,
                step=25.0,
                bend_deg_per_um=self.u((0.0, 60.0)),
            )
            if pts[:, 0].min() < self.z_bot + rad:
                continue
            tube = Tube(pts, rad)
            f = local_sdf(tube, self.g, margin=30.0)
            if f is None or not self.c.fits(f, gap=20.0):
                continue
            self.c.reserve(f, gap=20.0)
            outside = self.cell_fn(pts[:, 0], pts[:, 1], pts[:, 2]) > 0
            seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
            free = float(seg[outside[1:]].sum()) + rad
            np.minimum(self.d_pm[f.window], f.d, out=self.d_pm[f.window])
            out.append((tube, f, free))
        return out

    # -- after the cell: texture, film, gold ----------------------------------
    def texture(self) -> None:
        if self.r.texture <= 0:
            return
        shp = self.g.shape
        coarse = ndimage.gaussian_filter(
            self.rng.standard_normal(shp, dtype=np.float32), 60.0 / self.v
        )
        fine = ndimage.gaussian_filter(
            self.rng.standard_normal(shp, dtype=np.float32), 12.0 / self.v
        )
        coarse /= max(float(coarse.std()), 1e-9)
        fine /= max(float(fine.std()), 1e-9)
        tex = (0.6 * coarse + 0.6 * fine) * np.float32(self.r.texture)
        organic = np.clip(self.c.lac - np.float32(self.ice), 0.0, None)
        self.c.lac += organic * tex

    def film(self) -> None:
        if self.film_z is None:
            return
        zc, t = self.film_z
        ang = self.rng.uniform(0, 2 * math.pi)
        n = (math.sin(ang), math.cos(ang))
        ey, ex = (np.asarray(self.g.shape[1:]) - 1) * self.v
        off = self.u((-0.45, 0.15)) * min(ey, ex)  # edge visible in most fields

        z, y, x = self.g.open_grid(self.full)
        d = np.maximum(
            np.abs(z - zc) - 0.5 * t, -((y - 0.5 * ey) * n[0] + (x - 0.5 * ex) * n[1] - off)
        )
        self.c.fill(LocalField(self.full, d.astype(np.float32)), lac("carbon", self.e) * 0.85)
        self.c.occupied |= d < 20

    def gold(self) -> None:
        r = self.r
        area = float(np.prod((np.asarray(self.g.shape[1:]) - 1) * self.v)) / 1e6
        outside = -self.d_pm
        for _ in range(self.count(r.gold_per_um2, area)):
            got = self.place(
                lambda: Sphere(self.random_point(), 0.5 * self.u(r.gold_diameter_nm)),
                gap=30.0,
                container=outside,
            )
            if got is None:
                continue
            shape, f = got
            val = lac("gold", self.e)
            self.c.register("gold", shape, lac_per_um=val, diameter_nm=2 * shape.radius)
            self.c.fill(f, val)


def paint_scene(
    canvas: Canvas, recipe: Recipe, rng: np.random.Generator, *, energy_ev: float
) -> None:
    """Paint one scene of ``recipe`` onto ``canvas`` (in place).

    Parameters
    ----------
    canvas : Canvas
        Fresh canvas whose background is the ice LAC.
    recipe : Recipe
    rng : numpy Generator
    energy_ev : float
        Photon energy for the absorption coefficients.
    """
    p = _Painter(canvas, recipe, rng, energy_ev)
    p.cell()
    cyto_um3 = float((p.d_cell < 0).sum()) * p.v**3 / 1e9
    p.organelles(cyto_um3)
    p.texture()
    p.film()
    p.gold()
