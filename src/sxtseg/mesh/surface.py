"""Object surfaces in nm: marching cubes per object, Taubin smoothing, decimation, repair.

Coordinate convention
---------------------
Vertex columns are **(x, y, z) in nm** in the tomogram's frame::

    x = ix * voxel_x + origin_x
    y = iy * voxel_y + origin_y
    z = iz * voxel_z + origin_z

where ``(iz, iy, ix)`` is a (possibly fractional) index into the (Z, Y, X)
array. This is the MRC/IMOD/ChimeraX frame: a mesh opened next to the mask
in ChimeraX overlays it. The only change from the array order is the column
order (Z, Y, X) -> (x, y, z); nothing is flipped. Faces are wound so normals
point outwards (positive mesh volume).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage

from sxtseg.mesh.config import MeshConfig

if TYPE_CHECKING:  # pragma: no cover - imported where meshes are made
    import trimesh
from sxtseg.types import SpacingLike, check_spacing

__all__ = ["ObjectMesh", "distinct_colors", "mesh_objects", "surface_of"]

log = logging.getLogger(__name__)
_warned_decimation = False


def distinct_colors(ids: Sequence[int] | np.ndarray) -> np.ndarray:
    """A distinct, reproducible RGBA colour per object id (golden-ratio hues).

    Parameters
    ----------
    ids : sequence of int

    Returns
    -------
    ndarray of uint8, shape (N, 4)
    """
    import colorsys

    out = np.empty((len(ids), 4), dtype=np.uint8)
    for k, i in enumerate(ids):
        h = (0.13 + 0.6180339887 * int(i)) % 1.0
        s = 0.55 + 0.35 * ((int(i) * 7) % 3) / 2
        v = 0.95 - 0.2 * ((int(i) * 5) % 2)
        r, g, b = colorsys.hsv_to_rgb(h, s, v)
        out[k] = (round(r * 255), round(g * 255), round(b * 255), 255)
    return out


@dataclass(eq=False)
class ObjectMesh:
    """One object's closed surface in nm.

    Attributes
    ----------
    id : int
        The object's label in the instance volume.
    vertices : ndarray of float64, shape (N, 3)
        Columns (x, y, z) in nm (see the module docstring for the formula).
    faces : ndarray of int64, shape (M, 3)
        Vertex indices, counter-clockwise seen from outside.
    color : ndarray of uint8, shape (4,)
        RGBA display colour.
    """

    id: int
    vertices: np.ndarray
    faces: np.ndarray
    color: np.ndarray = field(default_factory=lambda: np.array([200, 200, 200, 255], np.uint8))

    def to_trimesh(self, *, colored: bool = True) -> trimesh.Trimesh:
        """A ``trimesh.Trimesh`` (no processing) with the colour on every face."""
        import trimesh

        colors = np.tile(self.color, (len(self.faces), 1)) if colored else None
        return trimesh.Trimesh(self.vertices, self.faces, face_colors=colors, process=False)

    @property
    def area_nm2(self) -> float:
        """Surface area in nm²."""
        tri = self.vertices[self.faces]
        return float(
            0.5
            * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum()
        )

    @property
    def volume_nm3(self) -> float:
        """Enclosed volume in nm³ (signed; positive for outward normals)."""
        tri = self.vertices[self.faces]
        return float(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0)

    @property
    def is_watertight(self) -> bool:
        """Every edge shared by exactly two faces with consistent winding."""
        if len(self.faces) == 0:
            return False
        return bool(self.to_trimesh(colored=False).is_watertight)


def _decimate(mesh: Any, target: int) -> Any:
    global _warned_decimation
    try:
        return mesh.simplify_quadric_decimation(face_count=int(target))
    except (ImportError, ModuleNotFoundError, ValueError) as exc:
        if not _warned_decimation:
            log.warning("decimation skipped (%s); install fast-simplification", exc)
            _warned_decimation = True
        return mesh


def _repair(mesh: Any) -> Any:
    import trimesh

    mesh.update_faces(mesh.nondegenerate_faces())
    mesh.remove_unreferenced_vertices()
    if not mesh.is_watertight:
        mesh.merge_vertices()
        trimesh.repair.fill_holes(mesh)
    if mesh.is_watertight and mesh.volume < 0:
        mesh.invert()
    return mesh


def surface_of(
    binary: np.ndarray,
    *,
    spacing: SpacingLike,
    origin: Sequence[float] | np.ndarray = (0.0, 0.0, 0.0),
    config: MeshConfig | None = None,
    object_id: int = 1,
    color: np.ndarray | None = None,
) -> ObjectMesh:
    """The surface of one binary object, in nm.

    Parameters
    ----------
    binary : ndarray of bool, shape (Z, Y, X)
        The object (typically a bounding-box crop).
    spacing : float or (z, y, x)
        Voxel size in nm.
    origin : (z, y, x)
        Position in nm of ``binary[0, 0, 0]``.
    config : MeshConfig, optional
    object_id : int
    color : ndarray of uint8, shape (4,), optional

    Returns
    -------
    ObjectMesh
        Vertices (x, y, z) in nm; empty arrays for an empty object.
    """
    import trimesh
    from skimage.measure import marching_cubes

    cfg = config or MeshConfig()
    sp = np.asarray(check_spacing(spacing, name="spacing"), dtype=np.float64)
    org = np.asarray(origin, dtype=np.float64)
    col = distinct_colors([object_id])[0] if color is None else np.asarray(color, np.uint8)
    if not np.any(binary):
        return ObjectMesh(object_id, np.zeros((0, 3)), np.zeros((0, 3), np.int64), col)
    p = cfg.pad
    vol = np.pad(np.asarray(binary, dtype=np.float32), p)
    verts, faces, _, _ = marching_cubes(
        vol, 0.5, spacing=tuple(sp), step_size=cfg.step_size, allow_degenerate=False
    )
    zyx = verts.astype(np.float64) + (org - p * sp)
    # skimage winds faces inwards in (z, y, x); swapping to (x, y, z) columns mirrors
    # the frame, which turns the same faces outwards.
    mesh = trimesh.Trimesh(zyx[:, ::-1], faces, process=True)
    if cfg.smooth_iterations:
        trimesh.smoothing.filter_taubin(
            mesh, lamb=cfg.smooth_lambda, nu=cfg.smooth_mu, iterations=2 * cfg.smooth_iterations
        )
    if cfg.target_faces is not None and len(mesh.faces) > cfg.target_faces:
        mesh = _decimate(mesh, cfg.target_faces)
    if cfg.repair:
        mesh = _repair(mesh)
    return ObjectMesh(
        object_id,
        np.asarray(mesh.vertices, dtype=np.float64),
        np.asarray(mesh.faces, dtype=np.int64),
        col,
    )


def mesh_objects(
    instances: np.ndarray,
    *,
    spacing: SpacingLike,
    origin: Sequence[float] | np.ndarray = (0.0, 0.0, 0.0),
    config: MeshConfig | None = None,
    ids: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ObjectMesh]:
    """One surface per object, each made on the object's padded bounding box.

    Parameters
    ----------
    instances : ndarray of int, shape (Z, Y, X)
        0 = background.
    spacing : float or (z, y, x)
        Voxel size in nm.
    origin : (z, y, x)
        Position in nm of voxel (0, 0, 0).
    config : MeshConfig, optional
    ids : sequence of int, optional
        Objects to mesh (default: every label present).
    progress : callable(done, total), optional

    Returns
    -------
    list of ObjectMesh
        In increasing id order, vertices (x, y, z) in nm.
    """
    sp = check_spacing(spacing, name="spacing")
    org = np.asarray(origin, dtype=np.float64)
    labels = np.asarray(instances)
    if labels.ndim != 3:
        raise ValueError(f"instances must be 3D (Z, Y, X), got shape {labels.shape}")
    slices = ndimage.find_objects(labels)
    wanted = [i + 1 for i, s in enumerate(slices) if s is not None] if ids is None else list(ids)
    colors = distinct_colors(wanted)
    out: list[ObjectMesh] = []
    for k, obj_id in enumerate(wanted):
        sl = slices[obj_id - 1] if 0 < obj_id <= len(slices) else None
        if sl is None:
            raise ValueError(f"object {obj_id} is not in the instance volume")
        start = np.array([s.start for s in sl], dtype=np.float64)
        crop = labels[sl] == obj_id
        out.append(
            surface_of(
                crop,
                spacing=sp,
                origin=org + start * np.asarray(sp),
                config=config,
                object_id=int(obj_id),
                color=colors[k],
            )
        )
        if progress is not None:
            progress(k + 1, len(wanted))
    return out
