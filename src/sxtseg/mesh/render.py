"""PNG previews, offscreen (matplotlib Agg): the 3D scene and orthogonal-slice overlays."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.mesh.surface import ObjectMesh, distinct_colors
from sxtseg.types import SpacingLike, check_spacing

__all__ = ["render_scene_png", "slice_overlays_png"]

_LIGHT = np.array([0.3, -0.5, 0.81]) / np.linalg.norm([0.3, -0.5, 0.81])


def _save(fig: Any, path: str | Path, dpi: int) -> Path:
    from sxtseg.io.base import temp_sibling

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(p)
    try:
        fig.savefig(tmp, dpi=dpi, format="png")
        tmp.replace(p)
    finally:
        tmp.unlink(missing_ok=True)
    return p


def _display_faces(mesh: ObjectMesh, budget: int) -> tuple[np.ndarray, np.ndarray]:
    if len(mesh.faces) <= budget:
        return mesh.vertices, mesh.faces
    try:
        tm = mesh.to_trimesh(colored=False).simplify_quadric_decimation(face_count=budget)
        return np.asarray(tm.vertices), np.asarray(tm.faces)
    except (ImportError, ModuleNotFoundError, ValueError):
        keep = np.random.default_rng(0).choice(len(mesh.faces), budget, replace=False)
        return mesh.vertices, mesh.faces[np.sort(keep)]


def render_scene_png(
    meshes: Sequence[ObjectMesh],
    path: str | Path,
    *,
    max_faces: int = 60000,
    elev: float = 25.0,
    azim: float = -60.0,
    size_in: float = 7.0,
    dpi: int = 110,
    title: str | None = None,
) -> Path:
    """Render every surface in its colour to a PNG (matplotlib 3D, offscreen).

    Parameters
    ----------
    meshes : sequence of ObjectMesh
        Vertices (x, y, z) in nm; the axes are labelled x, y, z (nm) with
        equal scale.
    path : str or Path
    max_faces : int
        Face budget of the whole picture (meshes are decimated for display).
    elev, azim : float
        Camera angles in degrees.
    size_in, dpi : float, int
        Figure size (inches, square) and resolution.
    title : str, optional

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    fig = Figure(figsize=(size_in, size_in))
    ax = fig.add_subplot(projection="3d")
    nonempty = [m for m in meshes if len(m.faces)]
    total = max(1, sum(len(m.faces) for m in nonempty))
    lo = np.full(3, np.inf)
    hi = np.full(3, -np.inf)
    for m in nonempty:
        budget = max(200, int(max_faces * len(m.faces) / total))
        v, f = _display_faces(m, budget)
        tri = v[f]
        normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
        shade = 0.45 + 0.55 * np.abs(normal @ _LIGHT)
        rgb = np.clip(shade[:, None] * (m.color[:3] / 255.0), 0, 1)
        poly = Poly3DCollection(tri, facecolors=rgb, edgecolors="none", linewidth=0)
        ax.add_collection3d(poly)
        lo = np.minimum(lo, v.min(axis=0))
        hi = np.maximum(hi, v.max(axis=0))
    if not nonempty:
        lo, hi = np.zeros(3), np.ones(3)
        ax.text2D(0.5, 0.5, "no objects", transform=ax.transAxes, ha="center")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_zlim(lo[2], hi[2])
    ax.set_box_aspect(tuple(np.maximum(hi - lo, 1e-9)))
    ax.set_xlabel("x (nm)")
    ax.set_ylabel("y (nm)")
    ax.set_zlabel("z (nm)")
    ax.view_init(elev=elev, azim=azim)
    ax.set_title(title or f"{len(nonempty)} objects")
    return _save(fig, path, dpi)


def _overlay_rgb(labels: np.ndarray) -> np.ndarray:
    lab = np.asarray(labels)
    ids = np.unique(lab[lab > 0])
    rgba = np.zeros((*lab.shape, 4), dtype=np.float32)
    if ids.size:
        lut = np.zeros((int(ids.max()) + 1, 4), dtype=np.float32)
        lut[ids] = distinct_colors(ids) / 255.0
        rgba = lut[lab]
    return rgba


def slice_overlays_png(
    tomogram: np.ndarray | None,
    mask: np.ndarray,
    path: str | Path,
    *,
    spacing: SpacingLike,
    index: Sequence[int] | None = None,
    alpha: float = 0.45,
    dpi: int = 110,
) -> Path:
    """Three orthogonal slices (XY, XZ, YZ) of a tomogram with the mask overlaid.

    Parameters
    ----------
    tomogram : ndarray, shape (Z, Y, X), or None
        Grey image under the overlay (percentile-scaled); None: mask only.
    mask : ndarray, shape (Z, Y, X)
        Binary mask or instance labels; each label gets its object colour.
    path : str or Path
    spacing : float or (z, y, x)
        Voxel size in nm; panels are drawn to physical scale.
    index : (z, y, x), optional
        Where to cut (default: the centre).
    alpha : float
        Opacity of the overlay.
    dpi : int

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    sz, sy, sx = check_spacing(spacing, name="spacing")
    lab = np.asarray(mask)
    if lab.ndim != 3:
        raise ValueError(f"mask must be 3D (Z, Y, X), got shape {lab.shape}")
    if tomogram is not None and np.shape(tomogram) != lab.shape:
        raise ValueError(f"tomogram {np.shape(tomogram)} and mask {lab.shape} differ in shape")
    nz, ny, nx = lab.shape
    iz, iy, ix = index if index is not None else (nz // 2, ny // 2, nx // 2)

    def ext(
        n_cols: int, s_cols: float, n_rows: int, s_rows: float
    ) -> tuple[float, float, float, float]:
        # voxel centres at index × size: pixel edges half a voxel either side
        return (-s_cols / 2, (n_cols - 0.5) * s_cols, (n_rows - 0.5) * s_rows, -s_rows / 2)

    cuts = [
        (f"XY (z = {iz})", np.s_[iz, :, :], ext(nx, sx, ny, sy), "x (nm)", "y (nm)"),
        (f"XZ (y = {iy})", np.s_[:, iy, :], ext(nx, sx, nz, sz), "x (nm)", "z (nm)"),
        (f"YZ (x = {ix})", np.s_[:, :, ix], ext(ny, sy, nz, sz), "y (nm)", "z (nm)"),
    ]
    fig = Figure(figsize=(15, 5.2))
    for k, (name, sl, extent, xl, yl) in enumerate(cuts):
        ax = fig.add_subplot(1, 3, k + 1)
        if tomogram is not None:
            img = np.asarray(tomogram[sl], dtype=np.float32)
            lo, hi = np.percentile(img, (1, 99)) if img.size else (0.0, 1.0)
            ax.imshow(
                img,
                cmap="gray",
                vmin=lo,
                vmax=hi if hi > lo else lo + 1,
                extent=extent,
                interpolation="nearest",
            )
        rgba = _overlay_rgb(lab[sl].astype(np.int64))
        rgba[..., 3] *= alpha if tomogram is not None else 1.0
        ax.imshow(rgba, extent=extent, interpolation="nearest")
        ax.set_title(name)
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
    fig.tight_layout()
    return _save(fig, path, dpi)
