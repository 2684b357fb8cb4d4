"""Objects from masks: compartments from membrane outlines, components, watershed splits.

A membrane segmentation holds *outlines*; the objects a biologist measures are
the compartments they enclose. :func:`objects_from_mask` turns either kind of
mask into an instance volume (uint32, 0 = background):

1. Background regions enclosed in 3D (6-connected, not touching any face of
   the volume) are compartments; with ``fill_slices`` so are regions enclosed
   within a Z slice (objects cut by the top or bottom of the volume, membranes
   with small gaps).
2. ``outlines`` mode: each compartment then takes up to ``membrane_steps``
   layers of the membrane around it, inner compartments first (an organelle
   owns its membrane; the cytoplasm around it is the rest). Mask components
   that enclose nothing and touch no compartment (solid blobs) become objects
   too. ``filled`` mode: the enclosed regions are
   holes, filled; the objects are the components of the filled mask.
3. Solid objects are split with a seeded watershed on the distance transform
   (in nm) where a neck is ``split_depth_nm`` thinner than the bodies it joins.
4. Objects outside the ``min_volume_nm3 .. max_volume_nm3`` range are dropped
   and the rest numbered 1..N (compartments first, in scan order).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage

from sxtseg.morphometry.config import ObjectsConfig
from sxtseg.types import Spacing, check_spacing

__all__ = [
    "enclosed_regions",
    "filter_by_volume",
    "instance_dtype",
    "label_components",
    "objects_from_mask",
    "relabel_sequential",
    "split_touching",
]

log = logging.getLogger(__name__)

_SIX = ndimage.generate_binary_structure(3, 1)
_TWENTYSIX = ndimage.generate_binary_structure(3, 3)
_FOUR = ndimage.generate_binary_structure(2, 1)


def label_components(mask: np.ndarray, *, connectivity: int = 6) -> tuple[np.ndarray, int]:
    """Connected components of a 3D boolean mask.

    Parameters
    ----------
    mask : ndarray of bool, shape (Z, Y, X)
    connectivity : {6, 26}

    Returns
    -------
    labels : ndarray of int32, shape (Z, Y, X)
    count : int
    """
    if connectivity not in (6, 26):
        raise ValueError(f"connectivity must be 6 or 26, got {connectivity!r}")
    structure = _SIX if connectivity == 6 else _TWENTYSIX
    labels, count = ndimage.label(mask, structure=structure)
    return labels, int(count)


def _face_labels(labels: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    faces = []
    for ax in axes:
        faces.append(np.take(labels, 0, axis=ax).ravel())
        faces.append(np.take(labels, labels.shape[ax] - 1, axis=ax).ravel())
    return np.unique(np.concatenate(faces))


def enclosed_regions(mask: np.ndarray, *, fill_slices: bool = True) -> np.ndarray:
    """Background voxels enclosed by the mask (the insides of closed contours).

    Parameters
    ----------
    mask : ndarray of bool, shape (Z, Y, X)
    fill_slices : bool
        Also count background enclosed within a Z slice (4-connected) although
        it is open in 3D.

    Returns
    -------
    ndarray of bool, shape (Z, Y, X)
        True where the background is enclosed; the mask itself is False.
    """
    mask = np.asarray(mask, dtype=bool)
    labels, count = ndimage.label(~mask, structure=_SIX)
    keep = np.ones(count + 1, dtype=bool)
    keep[_face_labels(labels, (0, 1, 2))] = False
    keep[0] = False
    enclosed = keep[labels]
    del labels
    if fill_slices:
        for z in range(mask.shape[0]):
            lab2, n2 = ndimage.label(~mask[z], structure=_FOUR)
            if n2 == 0:
                continue
            keep2 = np.ones(n2 + 1, dtype=bool)
            keep2[np.unique(np.concatenate([lab2[0], lab2[-1], lab2[:, 0], lab2[:, -1]]))] = False
            keep2[0] = False
            enclosed[z] |= keep2[lab2]
    return enclosed


def _drop_small(labels: np.ndarray, count: int, min_voxels: int) -> tuple[np.ndarray, np.ndarray]:
    """Zero labels smaller than ``min_voxels``; returns (labels, removed-voxel mask)."""
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    small = sizes < min_voxels
    small[0] = False
    if not small.any():
        return labels, np.zeros(labels.shape, dtype=bool)
    removed = small[labels]
    labels[removed] = 0
    return labels, removed


def _nesting_depth(lumens: np.ndarray, count: int) -> np.ndarray:
    """How many other compartments enclose each one (index = label; 0 unused)."""
    depth = np.zeros(count + 1, dtype=np.int64)
    for obj_id, sl in enumerate(ndimage.find_objects(lumens), 1):
        if sl is None:
            continue
        holes = enclosed_regions(lumens[sl] == obj_id, fill_slices=True)
        inside = np.unique(lumens[sl][holes])
        depth[inside[(inside != 0) & (inside != obj_id)]] += 1
    return depth


def _grow_nested(labels: np.ndarray, target: np.ndarray, steps: int) -> None:
    """Grow compartments (in place) into ``target`` voxels by up to ``steps`` 6-connected layers.

    Inner compartments go first (deepest nesting, then smallest), so the
    membrane between an organelle and the cytoplasm around it belongs to the
    organelle: an object is everything inside its outer membrane surface.
    """
    count = int(labels.max())
    if steps == 0 or count == 0:
        return
    depth = _nesting_depth(labels, count)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    slices = ndimage.find_objects(labels)
    order = sorted(range(1, count + 1), key=lambda i: (-depth[i], sizes[i]))
    for obj_id in order:
        sl0 = slices[obj_id - 1]
        if sl0 is None:
            continue
        sl = tuple(
            slice(max(0, s.start - steps), min(n, s.stop + steps))
            for s, n in zip(sl0, labels.shape, strict=True)
        )
        sub = labels[sl]
        free = target[sl] & (sub == 0)
        own = sub == obj_id
        for _ in range(steps):
            grow = ndimage.binary_dilation(own, _SIX) & free
            if not grow.any():
                break
            own |= grow
            free &= ~grow
            sub[grow] = obj_id


def split_touching(
    labels: np.ndarray,
    *,
    spacing: Any,
    depth_nm: float | None = None,
    ids: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Split touching objects with a seeded watershed on the distance transform.

    Seeds are the h-maxima of the Euclidean distance to the background (in
    nm, with the voxel size), so two bodies joined by a neck at least
    ``depth_nm`` thinner than the smaller body become two objects, while an
    elongated object (a filopodium, a rod) stays whole.

    Parameters
    ----------
    labels : ndarray of int, shape (Z, Y, X)
        Instance labels, modified in place; new objects get new ids above the
        current maximum.
    spacing : float or (z, y, x)
        Voxel size in nm.
    depth_nm : float, optional
        The h of the h-maxima; default twice the largest voxel size.
    ids : ndarray of int, optional
        Only these labels are candidates (default: all).
    progress : callable(done, total), optional

    Returns
    -------
    ndarray
        ``labels`` (the same array).
    """
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    sp = check_spacing(spacing, name="spacing")
    h = float(depth_nm) if depth_nm is not None else 2.0 * max(sp)
    slices = ndimage.find_objects(labels)
    candidates = (
        [int(i) for i in ids] if ids is not None else [i + 1 for i, s in enumerate(slices) if s]
    )
    next_id = len(slices) + 1
    for done, obj_id in enumerate(candidates, 1):
        sl = slices[obj_id - 1] if obj_id - 1 < len(slices) else None
        if sl is None:
            continue
        crop = np.pad(labels[sl] == obj_id, 1)
        if crop.sum() < 64:
            continue
        dist = ndimage.distance_transform_edt(crop, sampling=sp).astype(np.float32)
        peaks = h_maxima(dist, h)
        markers, n = ndimage.label(peaks & crop, structure=_TWENTYSIX)
        if n > 1:
            ws = watershed(-dist, markers, mask=crop)[1:-1, 1:-1, 1:-1]
            view = labels[sl]
            inside = crop[1:-1, 1:-1, 1:-1]
            for k in range(2, n + 1):
                view[inside & (ws == k)] = next_id
                next_id += 1
            log.debug("object %d split into %d", obj_id, n)
        if progress is not None:
            progress(done, len(candidates))
    return labels


def filter_by_volume(
    labels: np.ndarray,
    *,
    spacing: Any,
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


def _outline_mode(mask: np.ndarray, lumen: np.ndarray, config: ObjectsConfig) -> bool:
    if config.mode != "auto":
        return config.mode == "outlines"
    m = int(mask.sum())
    ratio = int(lumen.sum()) / max(m, 1)
    chosen = ratio >= config.outline_ratio
    log.info(
        "enclosed background / mask = %.2f: treating the mask as %s",
        ratio,
        "membrane outlines" if chosen else "filled objects",
    )
    return chosen


def objects_from_mask(
    mask: np.ndarray,
    *,
    spacing: Any,
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

    lumen = enclosed_regions(mask, fill_slices=cfg.fill_slices)
    lumen_lab, n_lumen = ndimage.label(lumen, structure=_SIX)
    del lumen
    lumen_lab, holes = _drop_small(lumen_lab, n_lumen, cfg.min_lumen_voxels)
    mask |= holes
    del holes

    if _outline_mode(mask, lumen_lab > 0, cfg):
        labels = lumen_lab.astype(np.uint32)
        del lumen_lab
        _grow_nested(labels, mask, cfg.membrane_steps)
        n_comp = int(labels.max())
        rest = mask & (labels == 0)
        rest_lab, n_rest = label_components(rest, connectivity=cfg.connectivity)
        touching = np.unique(rest_lab[ndimage.binary_dilation(labels > 0, _SIX) & rest])
        solid = np.ones(n_rest + 1, dtype=bool)
        solid[touching] = False
        solid[0] = False
        keep = solid[rest_lab]
        labels[keep] = rest_lab[keep].astype(np.uint32) + np.uint32(n_comp)
        split_ids = np.flatnonzero(solid) + n_comp
        del rest_lab, keep, rest
        log.info("%d compartments, %d solid objects", n_comp, split_ids.size)
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
    filter_by_volume(
        labels, spacing=sp, min_volume_nm3=cfg.min_volume_nm3, max_volume_nm3=cfg.max_volume_nm3
    )
    labels, count = relabel_sequential(labels)
    log.info("%d objects", count)
    return labels
