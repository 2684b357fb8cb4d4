"""Objects, measurements and surfaces from Python (no torch).

Part of the notebook front door (:mod:`sxtseg.api`), re-exported as
``sxtseg.objects``, ``sxtseg.measure`` and ``sxtseg.surfaces``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from sxtseg.api_segment import Segmentation, SpacingLike, require_spacing, unpack_input
from sxtseg.errors import InputError
from sxtseg.types import Spacing, Volume

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import trimesh

    from sxtseg.mesh.config import MeshConfig
    from sxtseg.morphometry.config import MeasureConfig, ObjectsConfig

__all__ = ["measure", "objects", "surfaces"]


def _objects_config(config: ObjectsConfig | None, **overrides: Any) -> ObjectsConfig:
    from sxtseg.morphometry.config import ObjectsConfig

    base = config or ObjectsConfig()
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def objects(
    mask: np.ndarray | Volume | Segmentation,
    *,
    spacing: SpacingLike | None = None,
    mode: str | None = None,
    split: bool | None = None,
    min_volume_nm3: float | None = None,
    max_volume_nm3: float | None = None,
    protrusion_radius_nm: float | None = None,
    config: ObjectsConfig | None = None,
) -> np.ndarray:
    """Instance labels from a binary mask, as ``sxtseg run`` and ``sxtseg measure`` make them.

    A mask of membrane outlines becomes filled compartments (each membrane
    voxel goes to the nearest one); a mask of solid objects becomes its
    connected components, touching ones split by a watershed.

    Parameters
    ----------
    mask : ndarray, Volume or Segmentation, shape (Z, Y, X)
        Nonzero = foreground. A Segmentation brings its mask and spacing.
    spacing : float or (z, y, x)
        Voxel size in nm; required unless ``mask`` brings one.
    mode : {"auto", "outlines", "filled"}, optional
    split : bool, optional
        Split touching solid objects.
    min_volume_nm3, max_volume_nm3 : float, optional
        Keep objects whose volume lies in this range.
    protrusion_radius_nm : float, optional
        Cut protrusions thinner than twice this radius off thicker bodies.
    config : ObjectsConfig, optional
        Every setting (see :class:`~sxtseg.morphometry.ObjectsConfig`);
        options given here win. Default: ``ObjectsConfig()``, as ``sxtseg run``.

    Returns
    -------
    ndarray of uint32, shape (Z, Y, X)
        0 = background, objects numbered 1..N.

    Examples
    --------
    A closed membrane (a spherical shell, radius 12 voxels of 10 nm) encloses one compartment:

    >>> import numpy as np
    >>> import sxtseg
    >>> z, y, x = np.mgrid[:32, :40, :40]
    >>> r = np.sqrt((z - 16) ** 2 + (y - 20) ** 2 + (x - 20) ** 2)
    >>> labels = sxtseg.objects(np.abs(r - 12) < 1, spacing=10.0)
    >>> labels.shape, labels.dtype, int(labels.max())
    ((32, 40, 40), dtype('uint32'), 1)
    """
    from sxtseg.morphometry import objects_from_mask

    data, sp = unpack_input(mask, spacing)
    cfg = _objects_config(
        config, mode=mode, split=split, min_volume_nm3=min_volume_nm3,
        max_volume_nm3=max_volume_nm3, protrusion_radius_nm=protrusion_radius_nm,
    )  # fmt: skip
    return objects_from_mask(np.asarray(data), spacing=require_spacing(sp, "objects"), config=cfg)


def _labels(
    data: Any, spacing: Spacing, *, instances: bool | None, config: ObjectsConfig | None
) -> np.ndarray:
    """Instance labels from labels (kept) or a mask (objects made), as ``sxtseg measure`` does."""
    from sxtseg.morphometry import trim_instances

    arr = np.asarray(data)
    if arr.ndim != 3:
        raise InputError(f"expected a (Z, Y, X) volume, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise InputError(f"unsupported data type {arr.dtype}")
    if instances is None:
        instances = arr.dtype.kind in "iu" and arr.size > 0 and int(arr.max()) > 1
    if not instances:
        # a float mask (e.g. probabilities) is foreground above 0.5, as in `sxtseg measure`
        mask = arr > 0.5 if arr.dtype.kind == "f" else arr != 0
        return objects(mask, spacing=spacing, config=config)
    if arr.dtype.kind not in "iub" or (arr.dtype.kind == "i" and arr.size and arr.min() < 0):
        raise InputError("instance labels must be non-negative integers")
    labels = arr.astype(np.uint32)  # a copy: the caller's array is not changed
    # the same steps as sxtseg.morphometry.load_objects applies to an instance file
    trim_instances(labels, spacing=spacing, config=_objects_config(config))
    return labels


def measure(
    labels_or_mask: np.ndarray | Volume | Segmentation,
    *,
    spacing: SpacingLike | None = None,
    instances: bool | None = None,
    origin: Sequence[float] = (0.0, 0.0, 0.0),
    smooth_iterations: int | None = None,
    objects_config: ObjectsConfig | None = None,
    config: MeasureConfig | None = None,
) -> pd.DataFrame:
    """One row per object in nm: the table of ``sxtseg measure`` (same columns).

    Parameters
    ----------
    labels_or_mask : ndarray, Volume or Segmentation, shape (Z, Y, X)
        Instance labels (0 = background) or a binary mask (objects are made
        with :func:`objects`).
    spacing : float or (z, y, x)
        Voxel size in nm; required unless the input brings one.
    instances : bool, optional
        True: the input holds labels, used as they are; False: a mask. Default:
        labels when it holds integers above 1, else a mask (a float array is
        a mask above 0.5).
    origin : (z, y, x)
        Position of voxel (0, 0, 0) in nm; centroids are in this frame.
    smooth_iterations : int, optional
        Taubin smoothing pairs before surface areas (default 15, as ``sxtseg run``).
    objects_config : ObjectsConfig, optional
        How a mask becomes objects (see :func:`objects`).
    config : MeasureConfig, optional
        Every measurement setting; ``smooth_iterations`` given here wins.

    Returns
    -------
    pandas.DataFrame
        One row per object in increasing id order, columns
        :data:`sxtseg.morphometry.COLUMNS` (``id``, ``voxels``, ``volume_nm3``,
        ``surface_nm2``, centroids and axes in nm, ...).

    Examples
    --------
    A ball of radius 10 voxels of 8 nm (80 nm):

    >>> import numpy as np
    >>> import sxtseg
    >>> z, y, x = np.mgrid[:28, :28, :28]
    >>> ball = (z - 14) ** 2 + (y - 14) ** 2 + (x - 14) ** 2 <= 10**2
    >>> table = sxtseg.measure(ball, spacing=8.0)
    >>> len(table), list(table.columns[:3])
    (1, ['id', 'voxels', 'volume_nm3'])
    >>> bool(abs(table.loc[0, "equivalent_diameter_nm"] - 160) < 3)
    True
    """
    from sxtseg.morphometry import measure_objects
    from sxtseg.morphometry.config import MeasureConfig

    data, sp = unpack_input(labels_or_mask, spacing)
    sp = require_spacing(sp, "measuring")
    labels = _labels(data, sp, instances=instances, config=objects_config)
    cfg = config or MeasureConfig()
    if smooth_iterations is not None:
        cfg = replace(cfg, smooth_iterations=smooth_iterations)
    return measure_objects(labels, spacing=sp, origin=origin, config=cfg)


def surfaces(
    labels: np.ndarray | Volume | Segmentation,
    *,
    spacing: SpacingLike | None = None,
    instances: bool | None = None,
    origin: Sequence[float] = (0.0, 0.0, 0.0),
    smooth_iterations: int | None = None,
    target_faces: int | None = None,
    objects_config: ObjectsConfig | None = None,
    config: MeshConfig | None = None,
) -> list[trimesh.Trimesh]:
    """One closed surface per object in nm, as ``sxtseg surfaces`` writes them.

    Parameters
    ----------
    labels : ndarray, Volume or Segmentation, shape (Z, Y, X)
        Instance labels (0 = background) or a binary mask (objects are made
        with :func:`objects`; see ``instances`` in :func:`measure`).
    spacing : float or (z, y, x)
        Voxel size in nm; required unless the input brings one.
    instances : bool, optional
        As in :func:`measure`.
    origin : (z, y, x)
        Position of voxel (0, 0, 0) in nm.
    smooth_iterations : int, optional
        Taubin smoothing pairs (default 15, as ``sxtseg run``).
    target_faces : int, optional
        Decimate each surface to at most this many faces.
    objects_config : ObjectsConfig, optional
        How a mask becomes objects.
    config : MeshConfig, optional
        Every mesh setting; options given here win.

    Returns
    -------
    list of trimesh.Trimesh
        In increasing object id order (``mesh.metadata["id"]``); vertex
        columns (x, y, z) in nm: ``x = ix * spacing_x + origin_x`` etc.

    Examples
    --------
    >>> import numpy as np
    >>> import sxtseg
    >>> z, y, x = np.mgrid[:28, :28, :28]
    >>> ball = (z - 14) ** 2 + (y - 14) ** 2 + (x - 14) ** 2 <= 10**2
    >>> labels = ball.astype(np.uint16) * 7
    >>> [mesh] = sxtseg.surfaces(labels, spacing=8.0)
    >>> mesh.metadata["id"], bool(mesh.is_watertight)
    (7, True)
    >>> bool(abs(mesh.volume - 4 / 3 * np.pi * 80**3) / (4 / 3 * np.pi * 80**3) < 0.05)
    True
    """
    from sxtseg.mesh import MeshConfig, mesh_objects

    data, sp = unpack_input(labels, spacing)
    sp = require_spacing(sp, "meshing")
    lab = _labels(data, sp, instances=instances, config=objects_config)
    cfg = config or MeshConfig()
    if smooth_iterations is not None:
        cfg = replace(cfg, smooth_iterations=smooth_iterations)
    if target_faces is not None:
        cfg = replace(cfg, target_faces=target_faces)
    out = []
    for m in mesh_objects(lab, spacing=sp, origin=origin, config=cfg):
        mesh = m.to_trimesh()
        mesh.metadata["id"] = int(m.id)
        out.append(mesh)
    return out
