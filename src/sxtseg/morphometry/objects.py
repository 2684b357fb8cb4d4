"""Objects from masks: compartments from membrane outlines, components, watershed splits.

A membrane segmentation holds *outlines*; the objects a biologist measures are
the compartments they enclose. :func:`objects_from_mask` turns either kind of
mask into an instance volume (uint32, 0 = background):

1. Background regions enclosed in 3D (6-connected, not touching any face of
   the volume) are compartments; with ``fill_slices`` so are regions open only
   through the top or bottom faces, whose contours are closed in every Z slice
   (objects cut by the slab's limits).
2. ``outlines`` mode: each compartment then takes up to ``membrane_steps``
   voxels of membrane: every membrane voxel goes to the nearest compartment
   or to the outside (Euclidean, in nm), so each boundary follows the
   membrane's mid-surface (a vesicle's volume is what its membrane's middle
   encloses). Mask components
   that touch no compartment and are mostly thicker than ``2 ×
   membrane_steps`` voxels (solid blobs) become objects too; thinner ones
   are open membranes (e.g. a plasma membrane cut by the volume's sides)
   and are dropped. ``filled`` mode: the enclosed regions are
   holes, filled; the objects are the components of the filled mask.
3. Solid objects are split with a seeded watershed on the distance transform
   (in nm) where a neck is ``split_depth_nm`` thinner than the bodies it joins.
4. Optionally (``protrusion_radius_nm``), thin protrusions such as
   filopodia are cut off thicker bodies (:func:`split_protrusions`).
5. Objects outside the ``min_volume_nm3 .. max_volume_nm3`` range are dropped
   and the rest numbered 1..N (compartments first, in scan order).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from sxtseg.morphometry.config import ObjectsConfig
from sxtseg.morphometry.split import split_protrusions, split_touching
from sxtseg.types import Spacing, SpacingLike, check_connectivity, check_spacing

__all__ = [
    "enclosed_regions",
    "filter_by_volume",
    "instance_dtype",
    "label_components",
    "objects_from_mask",
    "relabel_sequential",
    "trim_instances",
]

log = logging.getLogger(__name__)

_SIX = ndimage.generate_binary_structure(3, 1)
#: A mask component is a solid object when this fraction of it survives an
#: erosion by ``membrane_steps`` (a ball of radius 2 × membrane_steps keeps 1/8);
#: membranes with a few thick junctions do not.
_SOLID_CORE = 0.1


def label_components(mask: np.ndarray, *, connectivity: int = 1) -> tuple[np.ndarray, int]:
    """Connected components of a 3D boolean mask.

    Parameters
    ----------
    mask : ndarray of bool, shape (Z, Y, X)
    connectivity : {1, 2, 3}
        1 faces, 2 + edges, 3 + corners (:func:`sxtseg.types.check_connectivity`;
        6, 18 and 26 are accepted).

    Returns
    -------
    labels : ndarray of int32, shape (Z, Y, X)
    count : int
    """
    structure = ndimage.generate_binary_structure(3, check_connectivity(connectivity))
    labels, count = ndimage.label(mask, structure=structure)
    return labels, int(count)


def _face_labels(labels: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    faces = []
    for ax in axes:
        faces.append(np.take(labels, 0, axis=ax).ravel())
        faces.append(np.take(labels, labels.shape[ax] - 1, axis=ax).ravel())
    return np.unique(np.concatenate(faces))


def enclosed_regions(
    mask: np.ndarray, *, fill_slices: bool = True, in_slices: bool = False
) -> np.ndarray:
    """Background voxels enclosed by the mask (the insides of closed contours).

    Parameters
    ----------
    mask : ndarray of bool, shape (Z, Y, X)
    fill_slices : bool
        Also count background regions that are open only through the top or
        bottom of the volume (Z faces): their contours are closed in every Z
        slice (an object cut by the slab's limits, a tube along Z). Regions
        reaching a side (Y or X) face are never enclosed.
    in_slices : bool
        Also count background enclosed within its own XY slice (a closed
        contour in that slice), whether or not the region is closed in 3D.
        Cryo-SXT masks trace membranes as XY contours: the caps of an
        organelle lie flat in the slice plane, where the missing wedge hides
        them, so its lumen is open above and below in 3D.

    Returns
    -------
    ndarray of bool, shape (Z, Y, X)
        True where the background is enclosed; the mask itself is False.
    """
    mask = np.asarray(mask, dtype=bool)
    labels, count = ndimage.label(~mask, structure=_SIX)
    keep = np.ones(count + 1, dtype=bool)
    keep[_face_labels(labels, (1, 2) if fill_slices else (0, 1, 2))] = False
    keep[0] = False
    enclosed = keep[labels]
    del labels
    if in_slices:
        for z in range(mask.shape[0]):
            lab2, n2 = ndimage.label(~mask[z])
            if n2 == 0:
                continue
            inside = np.ones(n2 + 1, dtype=bool)
            inside[np.unique(np.concatenate([lab2[0], lab2[-1], lab2[:, 0], lab2[:, -1]]))] = False
            inside[0] = False
            enclosed[z] |= inside[lab2]
    return enclosed


def _drop_small(
    labels: np.ndarray, count: int, min_voxels: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Zero labels smaller than ``min_voxels``; returns (labels, removed voxels, removed count)."""
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    small = sizes < min_voxels
    small[0] = False
    if not small.any():
        return labels, np.zeros(labels.shape, dtype=bool), 0
    removed = small[labels]
    labels[removed] = 0
    return labels, removed, int(small.sum())


def _assign_nearest(
    labels: np.ndarray,
    target: np.ndarray,
    *,
    outside: int,
    spacing: Spacing,
    max_nm: float,
    slab: int = 48,
) -> None:
    """Give each ``target`` voxel (in place) the label of the nearest compartment.

    A target voxel goes to a compartment when it is nearer to it than to
    anything else that is not target (other compartments, the ``outside``
    label) and at most ``max_nm`` away (Euclidean distances in nm; exact
    ties, common in symmetric bands, are split by the parity of z + y + x).
    A band between two regions is thus split along its middle whatever its
    curvature. Each compartment is handled on its bounding box grown by
    twice the reach (in Z slabs of ``slab`` slices with a halo), so the cost
    follows the compartments' sizes and the memory stays bounded.
    """
    reach = [int(np.ceil(2 * max_nm / s)) + 1 for s in spacing]
    for obj_id, sl0 in enumerate(ndimage.find_objects(labels), 1):
        if sl0 is None or obj_id == outside:
            continue
        y_sl, x_sl = (
            slice(max(0, s.start - r), min(n, s.stop + r))
            for s, r, n in zip(sl0[1:], reach[1:], labels.shape[1:], strict=True)
        )
        z_lo = max(0, sl0[0].start - reach[0])
        z_hi = min(labels.shape[0], sl0[0].stop + reach[0])
        # Z slabs with a halo bound the memory for compartments as big as the volume
        for z0 in range(z_lo, z_hi, slab):
            z1 = min(z_hi, z0 + slab)
            a, b = max(z_lo, z0 - reach[0]), min(z_hi, z1 + reach[0])
            lab, tgt = labels[a:b, y_sl, x_sl], target[a:b, y_sl, x_sl]
            core = slice(z0 - a, z1 - a)
            if not tgt[core].any():
                continue
            mine = (lab == obj_id) & ~tgt
            if not mine.any():
                continue
            other = (lab != 0) & (lab != obj_id) & ~tgt
            d_in = ndimage.distance_transform_edt(~mine, sampling=spacing)[core]
            take = tgt[core] & (d_in <= max_nm)
            if other.any():
                d_out = ndimage.distance_transform_edt(~other, sampling=spacing)[core]
                zz, yy, xx = np.ogrid[z0:z1, y_sl, x_sl]
                even = (zz + yy + xx) % 2 == 0
                take &= (d_in < d_out - 1e-6) | ((np.abs(d_in - d_out) <= 1e-6) & even)
            lab[core][take] = obj_id


def trim_instances(labels: np.ndarray, *, spacing: SpacingLike, config: ObjectsConfig) -> None:
    """Cut protrusions and drop objects outside the volume range, in place.

    The last steps of :func:`objects_from_mask`, also applied to instance
    volumes given as they are (``sxtseg measure --instances``, the API).

    Parameters
    ----------
    labels : ndarray of uint32, shape (Z, Y, X)
        Instance labels, changed in place (ids are not renumbered).
    spacing : float or (z, y, x)
        Voxel size in nm.
    config : ObjectsConfig
        Supplies ``protrusion_radius_nm``, ``min_volume_nm3`` and ``max_volume_nm3``.
    """
    if config.protrusion_radius_nm is not None:
        split_protrusions(labels, spacing=spacing, radius_nm=config.protrusion_radius_nm)
    filter_by_volume(labels, spacing=spacing, min_volume_nm3=config.min_volume_nm3,
                     max_volume_nm3=config.max_volume_nm3)  # fmt: skip


def filter_by_volume(
    labels: np.ndarray,
    *,
    spacing: SpacingLike,
    min_volume_nm3: float | None = None,
    max_volume_nm3: float | None = None,
) -> np.ndarray:
    """Remove (in place) objects whose voxel volume lies outside [min, max] nm³.

    Parameters
    ----------
    labels : ndarray of int, shape (Z, Y, X)
    spacing : float or (z, y, x), nm
    min_volume_nm3, max_volume_nm3 : float, optional

    Returns
    -------
    ndarray
        ``labels`` with the rejected objects set to 0.
    """
    if min_volume_nm3 is None and max_volume_nm3 is None:
        return labels
    sp = check_spacing(spacing, name="spacing")
    vox = sp[0] * sp[1] * sp[2]
    volumes = np.bincount(labels.ravel()) * vox
    drop = np.zeros(volumes.shape, dtype=bool)
    if min_volume_nm3 is not None:
        drop |= volumes < min_volume_nm3
    if max_volume_nm3 is not None:
        drop |= volumes > max_volume_nm3
    drop[0] = False
    drop &= volumes > 0
    if drop.any():
        labels[drop[labels]] = 0
        log.info("dropped %d objects outside the volume range", int(drop.sum()))
    return labels


def relabel_sequential(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Number the objects 1..N keeping the order of their current ids.

    Returns
    -------
    labels : ndarray of uint32, shape (Z, Y, X)
    count : int
    """
    present = np.bincount(labels.ravel()) > 0
    present[0] = False
    lut = np.zeros(present.size, dtype=np.uint32)
    count = int(present.sum())
    lut[present] = np.arange(1, count + 1, dtype=np.uint32)
    return lut[labels], count


def instance_dtype(count: int) -> np.dtype:
    """uint16 when the ids fit (MRC mode 6), else uint32."""
    return np.dtype(np.uint16) if count <= np.iinfo(np.uint16).max else np.dtype(np.uint32)


def _outline_mode(
    mask: np.ndarray, lumen: np.ndarray, core: np.ndarray | None, config: ObjectsConfig
) -> bool:
    """Decide whether a mask holds membrane outlines (True) or filled objects."""
    if config.mode != "auto":
        return config.mode == "outlines"
    m = max(int(mask.sum()), 1)
    ratio = int(lumen.sum()) / m
    thick = int(core.sum()) / m if core is not None else 1.0
    chosen = ratio >= config.outline_ratio or thick < _SOLID_CORE
    log.info(
        "enclosed background / mask = %.2f, thick fraction = %.2f: treating the mask as %s",
        ratio,
        thick,
        "membrane outlines" if chosen else "filled objects",
    )
    return chosen


def objects_from_mask(
    mask: np.ndarray,
    *,
    spacing: SpacingLike,
    config: ObjectsConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Turn a binary mask (membrane outlines or filled objects) into instances.

    Parameters
    ----------
    mask : ndarray, shape (Z, Y, X)
        Nonzero = foreground (membranes, or solid objects).
    spacing : float or (z, y, x)
        Voxel size in nm.
    config : ObjectsConfig, optional
    progress : callable(done, total), optional
        Called during the watershed split.

    Returns
    -------
    ndarray of uint32, shape (Z, Y, X)
        0 = background, objects numbered 1..N.
    """
    cfg = config or ObjectsConfig()
    sp: Spacing = check_spacing(spacing, name="spacing")
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"mask must be 3D (Z, Y, X), got shape {mask.shape}")
    mask = mask != 0
    if not mask.any():
        return np.zeros(mask.shape, dtype=np.uint32)

    lumen = enclosed_regions(mask, fill_slices=cfg.fill_slices, in_slices=cfg.in_slices)
    lumen_lab, n_lumen = ndimage.label(lumen, structure=_SIX)
    del lumen
    lumen_lab, holes, n_small = _drop_small(lumen_lab, n_lumen, cfg.min_lumen_voxels)
    mask |= holes
    del holes

    core = (
        ndimage.binary_erosion(mask, _SIX, iterations=cfg.membrane_steps)
        if cfg.membrane_steps
        else None
    )
    if _outline_mode(mask, lumen_lab > 0, core, cfg):
        n_comp = int(lumen_lab.max())
        # solid blobs: mask components that border no compartment and are thicker
        # than a membrane (open membranes, e.g. a plasma membrane cut by the
        # volume's sides, are not objects)
        mask_lab, n_mask = label_components(mask, connectivity=cfg.connectivity)
        near = ndimage.binary_dilation(lumen_lab > 0, _SIX) & mask
        if core is not None:
            n_core = np.bincount(mask_lab[core], minlength=n_mask + 1)
            n_all = np.bincount(mask_lab.ravel(), minlength=n_mask + 1)
            solid = n_core >= _SOLID_CORE * np.maximum(n_all, 1)
        else:
            solid = np.ones(n_mask + 1, dtype=bool)
        del core
        solid[np.unique(mask_lab[near])] = False
        solid[0] = False
        del near
        solid_vox = solid[mask_lab]
        # membranes are shared between the compartments and the outside
        outside = np.uint32(n_comp + 1)
        labels = lumen_lab.astype(np.uint32)
        del lumen_lab
        labels[~mask & (labels == 0)] = outside
        _assign_nearest(
            labels,
            mask & ~solid_vox,
            outside=int(outside),
            spacing=sp,
            max_nm=cfg.membrane_steps * max(sp) + 1e-6,
        )
        labels[labels == outside] = 0
        labels[solid_vox] = mask_lab[solid_vox].astype(np.uint32) + np.uint32(n_comp)
        split_ids = np.flatnonzero(solid) + n_comp
        del mask_lab, solid_vox
        log.info(
            "%d enclosed regions of %d+ voxels, %d solid objects",
            n_lumen - n_small,
            cfg.min_lumen_voxels,
            split_ids.size,
        )
    else:
        filled = mask | (lumen_lab > 0)
        del lumen_lab
        lab, n = label_components(filled, connectivity=cfg.connectivity)
        labels = lab.astype(np.uint32)
        del lab, filled
        split_ids = np.arange(1, n + 1)
        log.info("%d components", n)

    if cfg.split and split_ids.size:
        split_touching(
            labels, spacing=sp, depth_nm=cfg.split_depth_nm, ids=split_ids, progress=progress
        )
    trim_instances(labels, spacing=sp, config=cfg)
    labels, count = relabel_sequential(labels)
    log.info("%d objects", count)
    return labels
