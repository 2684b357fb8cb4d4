"""Organelles of a scene: nucleus, mitochondria, vacuoles, ER, vesicles, droplets.

A mixin of the scene painter (:mod:`sxtseg.simulate.scene`): every method
places one kind of compartment without overlap inside the cytoplasm and paints
its interior, membranes and truth onto the canvas.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from sxtseg.simulate.phantoms import LocalField, local_sdf
from sxtseg.simulate.shapes import Ellipsoid, Shape, Sphere, Tube, bent_path, random_rotation

__all__ = ["OrganelleMixin"]

_ATTEMPTS = 40

#: The kind of shape a ``make`` callable returns (``place`` hands it back).
S = TypeVar("S", bound=Shape)


class OrganelleMixin:
    """Organelle placement and painting; needs the attributes of ``scene._Painter``."""

    c: Any
    r: Any
    rng: np.random.Generator
    g: Any
    v: float
    d_cell: np.ndarray
    z_bot: float
    top_lo: float
    # helpers provided by the painter
    u: Callable[[tuple[float, float]], float]
    contrast: Callable[[str], float]
    membrane_lac: Callable[[], float]
    bilayer: Callable[..., None]
    count: Callable[[tuple[float, float], float], int]
    random_point: Callable[[], np.ndarray]
    inner_point: Callable[[], np.ndarray]
    direction: Callable[..., np.ndarray]
    orientation: Callable[..., np.ndarray]

    # -- organelles -----------------------------------------------------------
    def place(
        self,
        make: Callable[[], S],
        *,
        gap: float,
        container: np.ndarray,
        tries: int = _ATTEMPTS,
    ) -> tuple[S, LocalField] | None:
        for _ in range(tries):
            shape = make()
            # quick reject: a point inside the shape must be free and inside the container
            idx = tuple(round(v) for v in shape.anchor() / self.v)
            if all(0 <= i < n for i, n in zip(idx, self.g.shape)) and (
                self.c.occupied[idx] or container[idx] > -gap
            ):
                continue
            f = local_sdf(shape, self.g, margin=max(gap, 20.0) + self.v)
            if f is not None and self.c.fits(f, gap=gap, container=container):
                self.c.reserve(f, gap=gap)
                return shape, f
        return None

    def nucleus(self) -> None:
        r, rng = self.r, self.rng
        ez, ey, ex = (np.asarray(self.g.shape) - 1) * self.v
        rad = 0.5 * self.u(r.nucleus_diameter_nm)
        axes = (rad * self.u((0.5, 0.8)), rad, rad * self.u((0.7, 1.0)))
        if r.cell == "round":

            def make() -> Shape:
                return Ellipsoid(
                    self.inner_point(), (axes[1] * 0.9, axes[1], axes[2]), random_rotation(rng)
                )
        else:

            def make() -> Shape:
                ang = rng.uniform(0, 2 * math.pi)
                # envelope crosses the field: centre one radius (in that direction) away,
                # give or take a third of the half-width of the field
                if r.bottom_in_box:
                    zc = self.z_bot + self.u((40.0, 150.0)) + axes[0]
                    c_ax = axes[0]
                else:  # equator of the nucleus in the box
                    zc = self.u((0.3, 0.7)) * ez
                    c_ax = min(axes[0], zc - self.z_bot - 60.0, self.top_lo - zc - 60.0)
                r_dir = 1.0 / math.hypot(math.sin(ang) / axes[1], math.cos(ang) / axes[2])
                h = min(abs(zc - 0.5 * ez) / c_ax, 0.99)  # cross-section at mid-depth
                dist = r_dir * math.sqrt(1.0 - h * h) + self.u((-0.35, 0.35)) * 0.5 * min(ey, ex)
                c = np.array([zc, 0.5 * ey + dist * math.sin(ang), 0.5 * ex + dist * math.cos(ang)])
                return Ellipsoid(c, (c_ax, axes[1], axes[2]), np.eye(3))

        got = self.place(make, gap=60.0, container=self.d_cell, tries=60)
        if got is None:
            return
        shape, f = got
        nl = self.contrast("nucleus")
        gap = self.u(r.envelope_gap_nm)
        nid = self.c.register("nucleus", shape, lac_per_um=nl, envelope_gap_nm=gap)
        self.c.fill(f, nl)
        self.c.label(f, nid)
        self.c.layer(f, nl + 0.04, thickness=120.0, offset=-gap - 70.0)  # peripheral chromatin
        self.c.layer(f, self.contrast("perinuclear_space"), thickness=gap, offset=-0.5 * gap)
        pores = self.nuclear_pores(f, gap)
        for off in (0.0, -gap):
            self.bilayer(f, offset=off, where=~pores)
            self.c.mark_truth(f, offset=off)
        # nucleoli: dense, not membrane-bounded (no truth, no instance of their own)
        for _ in range(int(rng.integers(1, 3))):
            nr = self.u((250.0, 700.0))
            lo, hi = shape.bounds()
            for _t in range(20):
                c = rng.uniform(lo, hi)
                if shape.sdf(*c) < -(nr + 100):
                    nuc = Ellipsoid(
                        c, (nr * self.u((0.7, 1)), nr, nr * self.u((0.7, 1))), random_rotation(rng)
                    )
                    fn = local_sdf(nuc, self.g, margin=2 * self.v)
                    if fn is not None:
                        self.c.fill(fn, self.contrast("nucleolus"))
                    break
        self.c.occupied[f.window] |= f.d < 60.0

    def nuclear_pores(self, f: LocalField, gap: float) -> np.ndarray:
        """Pores (≈ 10 per µm² of envelope, 90-110 nm across) with a dense central
        complex; returns the mask (window of ``f``) where the bilayers are left out."""
        rng, v = self.rng, self.v
        mask = np.zeros(f.d.shape, dtype=bool)
        mid = np.flatnonzero(np.abs(f.d + 0.5 * gap).ravel() < 0.5 * v)
        area_um2 = mid.size * v * v / 1e6  # a one-voxel-thick shell holds area/v² voxels
        n = min(int(rng.poisson(area_um2 * self.u((6.0, 14.0)))), mid.size)
        if n == 0:
            return mask
        lo = np.array([w.start for w in f.window], dtype=float) * v
        for flat in rng.choice(mid, size=n, replace=False):
            idx = np.array(np.unravel_index(flat, f.d.shape), dtype=float)
            centre = lo + idx * v
            rad = self.u((45.0, 55.0))
            span = int(np.ceil(rad / v)) + 1
            sub = tuple(
                slice(max(0, int(i) - span), min(n_ax, int(i) + span + 1))
                for i, n_ax in zip(idx, f.d.shape)
            )
            z, y, x = (
                (np.arange(sl.start, sl.stop) * v + lo[ax]).reshape(
                    [-1 if a == ax else 1 for a in range(3)]
                )
                for ax, sl in enumerate(sub)
            )
            mask[sub] |= (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2 < rad**2
            plug = local_sdf(Sphere(centre, self.u((25.0, 35.0))), self.g, margin=v)
            if plug is not None:
                self.c.fill(plug, self.contrast("nucleolus"))
        return mask

    def mitochondrion(self) -> None:
        r, rng = self.r, self.rng
        dia, length = self.u(r.mitochondrion_diameter_nm), self.u(r.mitochondrion_length_nm)
        rad = 0.5 * dia
        tube = rng.random() < 0.5

        def make() -> Tube | Ellipsoid:
            if tube:
                return Tube(
                    bent_path(
                        rng,
                        self.inner_point(),
                        self.direction(),
                        max(length - dia, 50.0),
                        step=30.0,
                        bend_deg_per_um=self.u((10.0, 80.0)),
                    ),
                    rad,
                )
            return Ellipsoid(
                self.inner_point(),
                (0.5 * max(length, dia * 1.2), rad, rad * self.u((0.7, 1.0))),
                self.orientation(),
            )

        got = self.place(make, gap=25.0, container=self.d_cell)
        if got is None:
            return
        shape, f = got
        ml = self.contrast("mitochondrion")
        mid = self.c.register(
            "mitochondrion",
            shape,
            lac_per_um=ml,
            diameter_nm=dia,
            form="tube" if tube else "ellipsoid",
        )
        self.c.fill(f, ml)
        self.c.label(f, mid)
        # cristae: lamellae across the long axis, entering from one side
        if isinstance(shape, Ellipsoid):
            axis, center = shape.rotation[:, 0], shape.center
            half = shape.semi_axes[0]
        else:
            axis = shape.points[-1] - shape.points[0]
            axis = axis / max(np.linalg.norm(axis), 1e-9)
            center, half = shape.points.mean(axis=0), 0.5 * shape.length + rad
        z, y, x = self.g.open_grid(f.window)
        along = (z - center[0]) * axis[0] + (y - center[1]) * axis[1] + (x - center[2]) * axis[2]
        spacing = self.u((60.0, 140.0))
        inner = f.d < -18.0
        crista_lac = self.membrane_lac() * 0.8
        for pos in np.arange(-half + spacing * 0.7, half - spacing * 0.5, spacing):
            pos += spacing * self.u((-0.3, 0.3))
            perp = rng.normal(size=3)
            perp -= (perp @ axis) * axis
            perp /= max(float(np.linalg.norm(perp)), 1e-9)
            side = (z - center[0]) * perp[0] + (y - center[1]) * perp[1] + (x - center[2]) * perp[2]
            keep = inner & (side > rad * self.u((-0.7, 0.1)))
            tilt = rng.normal(0, 0.25)  # cristae are not all perpendicular to the axis
            wobble = 6.0 * np.sin(side / self.u((40.0, 90.0)) + rng.uniform(0, 6.3))
            dist = along - pos + tilt * side + wobble
            plane = LocalField(f.window, dist.astype(np.float32))
            self.c.layer(plane, crista_lac, thickness=self.u((10.0, 16.0)), where=keep)
        self.bilayer(f, offset=-12.0)
        self.bilayer(f)
        self.c.mark_truth(f)

    def simple(
        self,
        kind: str,
        make: Callable[[], Shape],
        *,
        gap: float = 20.0,
        thickness: tuple[float, float] | None = None,
        **extra: float | str,
    ) -> None:
        got = self.place(make, gap=gap, container=self.d_cell)
        if got is None:
            return
        shape, f = got
        val = self.contrast(kind)
        oid = self.c.register(kind, shape, lac_per_um=val, **extra)
        self.c.fill(f, val)
        self.c.label(f, oid)
        if kind == "endosome" and self.rng.random() < 0.6:
            self.intraluminal(shape, f)
        if thickness is not None:  # lipid droplets: phospholipid monolayer
            self.c.layer(f, self.membrane_lac(), thickness=self.u(thickness))
        else:
            self.bilayer(f)
        self.c.mark_truth(f)

    def intraluminal(self, shape: Shape, f: LocalField) -> None:
        lo, hi = shape.bounds()
        for _ in range(int(self.rng.integers(2, 8))):
            c = self.rng.uniform(lo, hi)
            rr = self.u((18.0, 30.0))
            if shape.sdf(*c) < -(rr + 10):
                ilv = Sphere(c, rr)
                fi = local_sdf(ilv, self.g, margin=self.v)
                if fi is not None:
                    self.bilayer(fi)

    def organelles(self, volume_um3: float) -> None:
        r, rng = self.r, self.rng
        if r.nucleus:
            self.nucleus()
        for _ in range(int(rng.integers(r.vacuole[0], r.vacuole[1] + 1))):
            rad = 0.5 * self.u(r.vacuole_diameter_nm)

            def vacuole(rad: float = rad) -> Shape:
                return Ellipsoid(
                    self.inner_point(),
                    (rad * self.u((0.85, 1)), rad, rad * self.u((0.85, 1))),
                    random_rotation(rng),
                )

            self.simple("vacuole", vacuole, gap=40.0)

        def sph(rng_d: tuple[float, float], elong: float = 0.0) -> Callable[[], Shape]:
            def make() -> Shape:
                rad = 0.5 * self.u(rng_d)
                if elong <= 0:
                    return Sphere(self.inner_point(), rad)
                return Ellipsoid(
                    self.inner_point(),
                    (rad * (1 + self.u((0, elong))), rad, rad * self.u((0.8, 1.0))),
                    random_rotation(rng),
                )

            return make

        for _ in range(self.count(r.mitochondria_density, volume_um3)):
            self.mitochondrion()
        for _ in range(self.count(r.er_sheet_density, volume_um3)):
            dia, th = self.u(r.er_sheet_diameter_nm), self.u(r.er_sheet_thickness_nm)

            def sheet(dia: float = dia, th: float = th) -> Shape:
                return Ellipsoid(
                    self.inner_point(),
                    (0.5 * th, 0.5 * dia, 0.5 * dia * self.u((0.4, 1.0))),
                    self.orientation(up=True),
                )

            self.simple("er", sheet, form="sheet")
        for _ in range(self.count(r.lysosome_density, volume_um3)):
            self.simple("lysosome", sph(r.lysosome_diameter_nm, 0.2))
        for _ in range(self.count(r.endosome_density, volume_um3)):
            self.simple("endosome", sph(r.endosome_diameter_nm, 0.3))
        for _ in range(self.count(r.lipid_droplet_density, volume_um3)):
            self.simple("lipid_droplet", sph(r.lipid_droplet_diameter_nm), thickness=(2.5, 4.0))
        for _ in range(self.count(r.er_tubule_density, volume_um3)):
            dia, length = self.u(r.er_tubule_diameter_nm), self.u(r.er_tubule_length_nm)

            def tubule(dia: float = dia, length: float = length) -> Shape:
                path = bent_path(rng, self.inner_point(), self.direction(), length, step=25.0,
                                 bend_deg_per_um=self.u((30.0, 150.0)))  # fmt: skip
                return Tube(path, 0.5 * dia)

            self.simple("er", tubule, gap=15.0, diameter_nm=dia, form="tubule")
        for _ in range(self.count(r.vesicle_density, volume_um3)):
            self.simple("vesicle", sph(r.vesicle_diameter_nm), gap=15.0)
