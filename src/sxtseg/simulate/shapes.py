"""Analytic shapes in nm with signed distance functions and exact sizes.

Every shape gives a signed distance ``sdf(z, y, x)`` in nm (negative inside)
for broadcastable coordinate arrays, its bounding box, and where it exists an
analytic volume (nm³) and surface area (nm²). Distances are exact for spheres,
capsules and tubes; for ellipsoids the first-order approximation
``k0·(k0 − 1)/k1`` (exact on the surface, accurate within a few nm of it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Ellipsoid", "Shape", "Sphere", "Tube", "ellipsoid_area", "random_rotation"]


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random 3×3 rotation matrix (rows/columns in z, y, x order)."""
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, a, b, c = q
    return np.array(
        [
            [1 - 2 * (b * b + c * c), 2 * (a * b - c * w), 2 * (a * c + b * w)],
            [2 * (a * b + c * w), 1 - 2 * (a * a + c * c), 2 * (b * c - a * w)],
            [2 * (a * c - b * w), 2 * (b * c + a * w), 1 - 2 * (a * a + b * b)],
        ]
    )


def ellipsoid_area(a: float, b: float, c: float) -> float:
    """Surface area (nm²) of an ellipsoid with semi-axes a, b, c (Knud Thomsen, error < 1.1 %).

    Exact for spheres.
    """
    p = 1.6075
    return 4 * math.pi * (((a * b) ** p + (a * c) ** p + (b * c) ** p) / 3.0) ** (1.0 / p)


class Shape:
    """Base class: a closed surface in nm with a signed distance."""

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) corners (z, y, x) in nm of a box that holds the shape."""
        raise NotImplementedError

    def sdf(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Signed distance in nm (< 0 inside) at points given by broadcastable arrays."""
        raise NotImplementedError

    def anchor(self) -> np.ndarray:
        """A point (z, y, x) nm inside the shape (for quick placement checks)."""
        lo, hi = self.bounds()
        return 0.5 * (lo + hi)

    @property
    def volume(self) -> float:
        """Analytic volume in nm³ (NaN where none)."""
        return math.nan

    @property
    def area(self) -> float:
        """Analytic surface area in nm² (NaN where none)."""
        return math.nan

    @property
    def exact(self) -> bool:
        """True when :attr:`volume` and :attr:`area` are exact formulas."""
        return False


@dataclass
class Sphere(Shape):
    """Sphere with centre (z, y, x) and radius in nm."""

    center: np.ndarray
    radius: float

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        c = np.asarray(self.center, float)
        return c - self.radius, c + self.radius

    def sdf(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        c = [float(v) for v in self.center]
        return np.sqrt((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2) - float(self.radius)

    @property
    def volume(self) -> float:
        return 4.0 / 3.0 * math.pi * self.radius**3

    @property
    def area(self) -> float:
        return 4.0 * math.pi * self.radius**2

    @property
    def exact(self) -> bool:
        return True


@dataclass
class Ellipsoid(Shape):
    """Ellipsoid with centre, semi-axes (a, b, c) in nm and a rotation.

    ``rotation`` maps body axes to (z, y, x): column i is the direction of semi-axis i.
    """

    center: np.ndarray
    semi_axes: tuple[float, float, float]
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        # half-extent along world axis j: sqrt(sum_i (R_ji * a_i)^2)
        r = np.asarray(self.rotation) * np.asarray(self.semi_axes)[None, :]
        half = np.sqrt((r**2).sum(axis=1))
        c = np.asarray(self.center, float)
        return c - half, c + half

    def local(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> list[np.ndarray]:
        """Body-frame coordinates (nm) of the points, one array per semi-axis."""
        c = [float(v) for v in self.center]
        rot = np.asarray(self.rotation, dtype=np.float64).tolist()  # Python floats keep float32
        dz, dy, dx = z - c[0], y - c[1], x - c[2]
        return [rot[0][i] * dz + rot[1][i] * dy + rot[2][i] * dx for i in range(3)]

    def sdf(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        q = self.local(z, y, x)
        a = [float(v) for v in self.semi_axes]
        k0 = np.sqrt(sum((q[i] / a[i]) ** 2 for i in range(3)))
        k1 = np.sqrt(sum((q[i] / a[i] ** 2) ** 2 for i in range(3)))
        return k0 * (k0 - 1.0) / np.maximum(k1, 1e-12)

    @property
    def volume(self) -> float:
        a, b, c = self.semi_axes
        return 4.0 / 3.0 * math.pi * a * b * c

    @property
    def area(self) -> float:
        return ellipsoid_area(*self.semi_axes)

    @property
    def exact(self) -> bool:
        a, b, c = self.semi_axes
        return bool(np.isclose(a, b) and np.isclose(b, c))


@dataclass
class Tube(Shape):
    """A tube of constant radius along a polyline, closed by hemispherical caps.

    A straight tube is a capsule. Volume πr²L + 4/3·πr³ and area 2πrL + 4πr²
    (L = centre-line length) are exact (Pappus) while the bending radius stays
    above r and the tube does not touch itself; the polyline is sampled finely
    enough that the faceting error is far below a voxel.
    """

    points: np.ndarray  # (n, 3) z, y, x in nm
    radius: float

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        p = np.asarray(self.points, float)
        return p.min(axis=0) - self.radius, p.max(axis=0) + self.radius

    def anchor(self) -> np.ndarray:
        return np.asarray(self.points[len(self.points) // 2], float)

    @property
    def length(self) -> float:
        """Centre-line length in nm."""
        return float(np.linalg.norm(np.diff(self.points, axis=0), axis=1).sum())

    def segment_sdf(self, i: int, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Signed distance (nm) to the capsule around segment i."""
        a = [float(v) for v in self.points[i]]
        ab = [float(v) for v in self.points[i + 1] - self.points[i]]
        denom = max(ab[0] ** 2 + ab[1] ** 2 + ab[2] ** 2, 1e-12)
        pz, py, px = z - a[0], y - a[1], x - a[2]
        t = np.clip((pz * ab[0] + py * ab[1] + px * ab[2]) / denom, 0.0, 1.0)
        return np.sqrt((pz - t * ab[0]) ** 2 + (py - t * ab[1]) ** 2 + (px - t * ab[2]) ** 2) - (
            float(self.radius)
        )

    def segment_bounds(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Bounding box (lo, hi) in nm of segment i's capsule."""
        p = self.points[i : i + 2]
        return p.min(axis=0) - self.radius, p.max(axis=0) + self.radius

    def sdf(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        out = self.segment_sdf(0, z, y, x)
        for i in range(1, len(self.points) - 1):
            out = np.minimum(out, self.segment_sdf(i, z, y, x))
        return out

    @property
    def volume(self) -> float:
        r = self.radius
        return math.pi * r * r * self.length + 4.0 / 3.0 * math.pi * r**3

    @property
    def area(self) -> float:
        r = self.radius
        return 2.0 * math.pi * r * self.length + 4.0 * math.pi * r * r

    @property
    def exact(self) -> bool:
        return True


def bent_path(
    rng: np.random.Generator,
    start: np.ndarray,
    direction: np.ndarray,
    length: float,
    *,
    step: float,
    bend_deg_per_um: float,
) -> np.ndarray:
    """A smooth random centre line (n, 3) in nm: a persistent random walk of fixed step.

    The direction turns by a random rotation of about ``bend_deg_per_um``·step/1000 per step.
    """
    n = max(2, math.ceil(length / step) + 1)
    step = length / (n - 1)
    d = np.asarray(direction, float)
    d /= np.linalg.norm(d)
    pts = [np.asarray(start, float)]
    turn = math.radians(bend_deg_per_um) * step / 1000.0
    curl = rng.normal(size=3)
    for _ in range(n - 1):
        pts.append(pts[-1] + step * d)
        curl = 0.8 * curl + 0.6 * rng.normal(size=3)
        perp = curl - (curl @ d) * d
        norm = np.linalg.norm(perp)
        if norm > 1e-9:
            d = d + turn * perp / norm
            d /= np.linalg.norm(d)
    return np.array(pts)
