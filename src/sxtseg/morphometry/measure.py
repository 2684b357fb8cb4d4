"""One row per object, in nm: volumes, surfaces, axes, Feret diameter, cross-sections.

Definitions (V = voxels × voxel volume unless stated):

- ``volume_nm3``: voxel count × voxel volume. ``mesh_volume_nm3`` and
  ``surface_nm2``: of the Taubin-smoothed marching-cubes surface
  (:func:`sxtseg.mesh.surface_of`), which removes the voxel staircase.
- ``surface_to_volume_per_um``: surface / mesh volume (voxel volume when the
  mesh is not watertight), in µm⁻¹.
- ``equivalent_diameter_nm``: (6 V / π)^(1/3).
- ``axis_major/second/minor_nm``: full axis lengths 2·√(5 λᵢ) of the solid
  ellipsoid with the object's second moments (λ: eigenvalues of the
  covariance of the voxels, each voxel a uniform box, in nm²);
  ``axis_major_dir_*``: the unit vector of the major axis.
- ``sphericity``: π^(1/3) (6 V)^(2/3) / surface (1 for a sphere), with the
  same volume as the surface-to-volume ratio.
- ``feret_max_nm``: largest distance between two surface vertices.
- ``tube_diameter_nm``, ``tube_length_nm``: the closed cylinder with the same
  volume and surface (:func:`tube_fit`; bending-invariant, for filopodia and
  tubules); NaN for compact objects.
- ``touches_border``: the object reaches a face of the volume.
- ``section_*``: see :mod:`sxtseg.morphometry.crosssection`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from sxtseg.errors import InputError
from sxtseg.io.base import temp_sibling
from sxtseg.mesh.config import MeshConfig
from sxtseg.mesh.surface import surface_of
from sxtseg.morphometry.config import MeasureConfig
from sxtseg.morphometry.crosssection import cross_sections
from sxtseg.types import SpacingLike, check_spacing

__all__ = ["COLUMNS", "feret_max", "measure_objects", "tube_fit", "write_table"]

log = logging.getLogger(__name__)

COLUMNS = [
    "id",
    "voxels",
    "volume_nm3",
    "mesh_volume_nm3",
    "surface_nm2",
    "surface_to_volume_per_um",
    "equivalent_diameter_nm",
    "sphericity",
    "centroid_z_nm",
    "centroid_y_nm",
    "centroid_x_nm",
    "axis_major_nm",
    "axis_second_nm",
    "axis_minor_nm",
    "axis_major_dir_z",
    "axis_major_dir_y",
    "axis_major_dir_x",
    "feret_max_nm",
    "tube_diameter_nm",
    "tube_length_nm",
    "touches_border",
    "mesh_watertight",
    "sections",
    "section_axis_first_mean_nm",
    "section_axis_first_sd_nm",
    "section_axis_second_mean_nm",
    "section_axis_second_sd_nm",
    "section_perimeter_mean_nm",
    "section_perimeter_sd_nm",
]


def feret_max(points: np.ndarray) -> float:
    """Largest distance between two points (via their convex hull), same units.

    Parameters
    ----------
    points : ndarray, shape (N, 3)
    """
    from scipy.spatial import ConvexHull, QhullError

    pts = np.asarray(points, dtype=np.float64)
    if len(pts) < 2:
        return 0.0
    try:
        pts = pts[ConvexHull(pts).vertices]
    except (QhullError, ValueError):
        pass  # flat or tiny: use all points
    pts = pts - pts.mean(axis=0)
    r = np.sqrt((pts * pts).sum(axis=1))
    # a lower bound from two farthest-point sweeps, then keep only the points
    # that could belong to a longer pair (|a - b| <= |a| + max |p|)
    a = pts[np.argmax(r)]
    b = pts[np.argmax(((pts - a) ** 2).sum(axis=1))]
    lower = float(np.sqrt(((a - b) ** 2).sum()))
    pts = pts[r >= lower - r.max() - 1e-9].astype(np.float64)
    sq = (pts * pts).sum(axis=1)
    best = lower * lower
    for start in range(0, len(pts), 4096):
        block = pts[start : start + 4096]
        d2 = sq[start : start + 4096, None] + sq[None, :] - 2.0 * (block @ pts.T)
        best = max(best, float(d2.max()))
    return math.sqrt(max(best, 0.0))


def tube_fit(volume_nm3: float, surface_nm2: float) -> tuple[float, float]:
    """Diameter and length (nm) of the closed cylinder with this volume and surface.

    Solves 2π r³ − S r + 2 V = 0 for the elongated solution (length ≥
    diameter). Volume and surface do not change when a tube bends, so this
    measures curved filopodia and tubules; NaN for compact objects (no
    elongated cylinder has so little surface for its volume).
    """
    if not (volume_nm3 > 0 and surface_nm2 > 0):
        return (math.nan, math.nan)
    roots = np.roots([2 * math.pi, 0.0, -surface_nm2, 2 * volume_nm3])
    real = np.sort(roots[(np.abs(roots.imag) < 1e-9 * np.abs(roots).max()) & (roots.real > 0)].real)
    for r in real:
        length = volume_nm3 / (math.pi * r * r)
        if length >= 2 * r:
            return (2 * r, length)
    return (math.nan, math.nan)


def _moments(crop: np.ndarray, sp: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Voxel count, mean index (z, y, x) and covariance in nm² from 2D projections."""
    n = int(crop.sum())
    idx = [np.arange(s, dtype=np.float64) for s in crop.shape]
    p1 = [crop.sum(axis=(1, 2)), crop.sum(axis=(0, 2)), crop.sum(axis=(0, 1))]
    mean = np.array([(i * p).sum() / n for i, p in zip(idx, p1, strict=True)])
    pair = {(0, 1): crop.sum(axis=2), (0, 2): crop.sum(axis=1), (1, 2): crop.sum(axis=0)}
    cov = np.zeros((3, 3))
    for a in range(3):
        cov[a, a] = (idx[a] ** 2 * p1[a]).sum() / n - mean[a] ** 2
    for (a, b), proj in pair.items():
        c = (idx[a][:, None] * idx[b][None, :] * proj).sum() / n - mean[a] * mean[b]
        cov[a, b] = cov[b, a] = c
    cov = cov * np.outer(sp, sp) + np.diag(sp * sp) / 12.0
    return n, mean, cov


def measure_objects(
    instances: np.ndarray,
    *,
    spacing: SpacingLike,
    origin: Sequence[float] = (0.0, 0.0, 0.0),
    config: MeasureConfig | None = None,
    meshes: Sequence[Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Measure every object of an instance volume in nm.

    Parameters
    ----------
    instances : ndarray of int, shape (Z, Y, X)
        0 = background; ids need not be consecutive.
    spacing : float or (z, y, x)
        Voxel size in nm.
    origin : (z, y, x)
        Position of voxel (0, 0, 0) in nm (centroids are in this frame).
    config : MeasureConfig, optional
    meshes : sequence of ObjectMesh, optional
        Precomputed surfaces (matched by ``id``); made here otherwise.
    progress : callable(done, total), optional

    Returns
    -------
    pandas.DataFrame
        One row per object in increasing id order, columns :data:`COLUMNS`;
        ``attrs`` holds the voxel size and origin.
    """
    cfg = config or MeasureConfig()
    spt = check_spacing(spacing, name="spacing")
    sp = np.asarray(spt, dtype=np.float64)
    org = np.asarray(origin, dtype=np.float64)
    labels = np.asarray(instances)
    if labels.ndim != 3:
        raise ValueError(f"instances must be 3D (Z, Y, X), got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"instances must be integers, got {labels.dtype}")
    mesh_cfg = MeshConfig(smooth_iterations=cfg.smooth_iterations)
    by_id = {int(m.id): m for m in meshes} if meshes is not None else {}
    voxel_volume = float(sp.prod())
    slices = ndimage.find_objects(labels) if labels.size and labels.max() > 0 else []
    ids = [i + 1 for i, s in enumerate(slices) if s is not None]
    rows: list[dict[str, Any]] = []
    for k, obj_id in enumerate(ids):
        sl = slices[obj_id - 1]
        crop = labels[sl] == obj_id
        start = np.array([s.start for s in sl], dtype=np.float64)
        stop = np.array([s.stop for s in sl])
        n, mean, cov = _moments(crop, sp)
        lam, vec = np.linalg.eigh(cov)
        order = np.argsort(lam)[::-1]
        lam = lam[order].clip(min=0)
        major = vec[:, order[0]]
        major = major * (1.0 if major[np.argmax(np.abs(major))] >= 0 else -1.0)
        axes = 2.0 * np.sqrt(5.0 * lam)
        mesh = by_id.get(obj_id)
        if mesh is None:
            mesh = surface_of(
                crop, spacing=spt, origin=org + start * sp, config=mesh_cfg, object_id=obj_id
            )
        area = mesh.area_nm2
        mvol = mesh.volume_nm3
        watertight = mesh.is_watertight
        vol = n * voxel_volume
        ref_vol = mvol if watertight and mvol > 0 else vol
        row: dict[str, Any] = {
            "id": obj_id,
            "voxels": n,
            "volume_nm3": vol,
            "mesh_volume_nm3": mvol,
            "surface_nm2": area,
            "surface_to_volume_per_um": 1000.0 * area / ref_vol if ref_vol > 0 else np.nan,
            "equivalent_diameter_nm": (6.0 * vol / math.pi) ** (1.0 / 3.0),
            "sphericity": (
                math.pi ** (1 / 3) * (6 * ref_vol) ** (2 / 3) / area if area > 0 else np.nan
            ),
        }
        centroid = (start + mean) * sp + org
        row.update(zip(("centroid_z_nm", "centroid_y_nm", "centroid_x_nm"), centroid, strict=True))
        row.update(zip(("axis_major_nm", "axis_second_nm", "axis_minor_nm"), axes, strict=True))
        row.update(
            zip(("axis_major_dir_z", "axis_major_dir_y", "axis_major_dir_x"), major, strict=True)
        )
        row["feret_max_nm"] = feret_max(mesh.vertices) if cfg.feret else np.nan
        row["tube_diameter_nm"], row["tube_length_nm"] = tube_fit(ref_vol, area)
        row["touches_border"] = bool((start == 0).any() or (stop == labels.shape).any())
        row["mesh_watertight"] = watertight
        if cfg.sections:
            st = cross_sections(crop, spacing=spt, smooth_iterations=cfg.smooth_iterations)
            row.update(
                {
                    "sections": st.count,
                    "section_axis_first_mean_nm": st.axis_first_mean_nm,
                    "section_axis_first_sd_nm": st.axis_first_sd_nm,
                    "section_axis_second_mean_nm": st.axis_second_mean_nm,
                    "section_axis_second_sd_nm": st.axis_second_sd_nm,
                    "section_perimeter_mean_nm": st.perimeter_mean_nm,
                    "section_perimeter_sd_nm": st.perimeter_sd_nm,
                }
            )
        rows.append(row)
        if progress is not None:
            progress(k + 1, len(ids))
    table = pd.DataFrame(rows, columns=COLUMNS)
    table = table.astype(
        {"id": "int64", "voxels": "int64", "touches_border": "bool", "mesh_watertight": "bool"}
    )
    if not cfg.sections:
        table["sections"] = 0
    table.attrs.update({"voxel_size_nm": tuple(spt), "origin_nm": tuple(float(v) for v in org)})
    return table


def write_table(
    table: pd.DataFrame, path: str | Path, *, overwrite: bool = False, parquet: bool | None = None
) -> list[Path]:
    """Write a measurement table atomically as CSV (and Parquet when pyarrow is present).

    Parameters
    ----------
    table : pandas.DataFrame
    path : str or Path
        ``.csv`` (or ``.tsv``), or ``.parquet`` for Parquet only.
    overwrite : bool
    parquet : bool, optional
        Also write ``path.with_suffix('.parquet')``; default: when pyarrow
        is importable.

    Returns
    -------
    list of Path
        The files written.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".tsv", ".parquet"):
        raise InputError(f"{p}: the table must end in .csv, .tsv or .parquet")
    if parquet is None:
        try:
            import pyarrow  # noqa: F401

            parquet = True
        except ImportError:
            parquet = False
    targets: list[tuple[Path, str]] = []
    if suffix != ".parquet":
        targets.append((p, "tsv" if suffix == ".tsv" else "csv"))
    if suffix == ".parquet" or parquet:
        targets.append((p.with_suffix(".parquet"), "parquet"))
    for target, _ in targets:
        if target.exists() and not overwrite:
            raise InputError(f"{target} exists (pass --overwrite to replace it)")
    if not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for target, kind in targets:
        tmp = temp_sibling(target)
        try:
            if kind == "parquet":
                try:
                    table.to_parquet(tmp, index=False)
                except ImportError as exc:
                    raise InputError(f"{target}: Parquet needs pyarrow ({exc})") from None
            else:
                table.to_csv(
                    tmp, index=False, sep="\t" if kind == "tsv" else ",", float_format="%.6g"
                )
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        written.append(target)
    return written
