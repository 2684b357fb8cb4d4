"""The work behind the Segment and Objects widgets, free of napari and Qt.

Each job takes arrays (numpy or dask) and a ``report(done, total, text)``
callback and returns a small dataclass; the widgets run them in a worker
thread. The numbers are those of the command line: :func:`segment_volume`
calls :func:`sxtseg.infer.segment_array` plane slab by plane slab (each plane
is normalised and predicted on its own, so slabs give the same result as the
whole volume), and :func:`objects_and_surfaces` uses the functions behind
``sxtseg measure`` with its defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sxtseg.types import Spacing

__all__ = [
    "ObjectsOutput",
    "SegmentOutput",
    "objects_and_surfaces",
    "segment_volume",
]

Report = Callable[..., None]


def _no_report(done: float, total: float, text: str = "") -> None:
    return None


@dataclass
class SegmentOutput:
    """What :func:`segment_volume` returns.

    Attributes
    ----------
    probabilities : ndarray of float32, shape (Z, Y, X)
        Membrane probability in [0, 1].
    mask : ndarray of uint8, shape (Z, Y, X)
        ``probabilities >= threshold`` (0/1).
    threshold : float
        The threshold used (the config's, else the model's calibrated one).
    model : str
        Where the model came from ("default" or a folder).
    meta : dict
        The model's metadata.
    """

    probabilities: np.ndarray
    mask: np.ndarray
    threshold: float
    model: str
    meta: dict[str, Any] = field(default_factory=dict)


def segment_volume(
    data: Any,
    *,
    voxel_size: Spacing | None,
    model: Any = "default",
    config: Any = None,
    report: Report = _no_report,
    slab: int = 8,
) -> SegmentOutput:
    """Membrane probabilities and mask of a (Z, Y, X) volume.

    Parameters
    ----------
    data : array-like, shape (Z, Y, X)
        numpy or dask; read slab by slab for ``axes="xy"``, whole otherwise.
    voxel_size : (z, y, x) nm or None
        Needed when the model records a pixel size (planes are resampled to it).
    model : "default", model folder, or a resolved model
    config : SegmentConfig, optional
        Threshold (None: the model's), TTA, axes, device...
    report : callable(done, total, text)
        Progress; may raise to cancel.
    slab : int
        Planes per call of :func:`~sxtseg.infer.segment_array`.

    Returns
    -------
    SegmentOutput
    """
    from sxtseg.infer import Predictor, SegmentConfig, resolve_model, segment_array

    cfg = config or SegmentConfig()
    report(0, 1, "loading the model")
    res = resolve_model(model)
    threshold = cfg.threshold_for(res.threshold)
    predictor = Predictor(res.module, config=cfg)
    shape = tuple(int(n) for n in data.shape)
    if len(shape) != 3:
        from sxtseg.errors import InputError

        raise InputError(f"expected a 3D (Z, Y, X) image, got shape {shape}")
    axes = cfg.plane_axes
    source = data if axes == ("xy",) else np.asarray(data)
    total = sum(shape[("xy", "xz", "yz").index(a)] for a in axes)
    prob = np.zeros(shape, dtype=np.float32)
    done = 0
    for name in axes:
        axis = ("xy", "xz", "yz").index(name)
        one = dataclasses.replace(cfg, axes=name)
        n = shape[axis]
        for i in range(0, n, slab):
            idx: list[Any] = [slice(None)] * 3
            idx[axis] = slice(i, min(n, i + slab))
            block = np.asarray(source[tuple(idx)])
            prob[tuple(idx)] += segment_array(block, res, config=one, predictor=predictor,
                                              voxel_size=voxel_size)  # fmt: skip
            done += block.shape[axis]
            report(done, total, f"{name} planes {min(n, i + slab)}/{n}")
    if len(axes) > 1:
        prob /= float(len(axes))
    mask = (prob >= threshold).astype(np.uint8)
    return SegmentOutput(prob, mask, threshold, res.source, dict(res.meta))


@dataclass
class ObjectsOutput:
    """What :func:`objects_and_surfaces` returns.

    Attributes
    ----------
    instances : ndarray of uint32, shape (Z, Y, X)
        0 = background, objects 1..N.
    meshes : list of ObjectMesh
        One surface per object, vertices (x, y, z) in nm.
    table : pandas.DataFrame
        One row per object, the columns of ``sxtseg measure``.
    """

    instances: np.ndarray
    meshes: list[Any]
    table: Any


def objects_and_surfaces(
    mask: Any,
    *,
    voxel_size: Spacing,
    origin: Spacing = (0.0, 0.0, 0.0),
    objects: Any = None,
    smooth_iterations: int = 15,
    report: Report = _no_report,
) -> ObjectsOutput:
    """Objects of a membrane (or solid) mask, their surfaces and measurements in nm.

    The same steps and defaults as ``sxtseg measure MASK`` (and ``sxtseg
    surfaces``): :func:`~sxtseg.morphometry.objects_from_mask`,
    :func:`~sxtseg.mesh.mesh_objects` and
    :func:`~sxtseg.morphometry.measure_objects` on those meshes.

    Parameters
    ----------
    mask : array-like, shape (Z, Y, X)
        Nonzero = foreground.
    voxel_size : (z, y, x) nm
    origin : (z, y, x) nm
    objects : ObjectsConfig, optional
    smooth_iterations : int
        Taubin smoothing pairs of the surfaces (the CLI's ``--smooth``).
    report : callable(done, total, text)

    Returns
    -------
    ObjectsOutput
    """
    from sxtseg.mesh import MeshConfig, mesh_objects
    from sxtseg.morphometry import MeasureConfig, ObjectsConfig, measure_objects, objects_from_mask

    cfg = objects or ObjectsConfig()
    binary = np.asarray(mask) != 0
    report(0, 3, "objects from the mask")
    labels = objects_from_mask(
        binary,
        spacing=voxel_size,
        config=cfg,
        progress=lambda d, t: report(d / max(1, t), 3, "splitting"),
    )
    del binary
    report(1, 3, "surfaces")
    meshes = mesh_objects(labels, spacing=voxel_size, origin=origin,
                          config=MeshConfig(smooth_iterations=smooth_iterations),
                          progress=lambda d, t: report(1 + d / max(1, t), 3,
                                                       f"surface {d}/{t}"))  # fmt: skip
    report(2, 3, "measuring")
    table = measure_objects(labels, spacing=voxel_size, origin=origin,
                            config=MeasureConfig(smooth_iterations=smooth_iterations),
                            meshes=meshes,
                            progress=lambda d, t: report(2 + d / max(1, t), 3,
                                                         f"object {d}/{t}"))  # fmt: skip
    report(3, 3, f"{len(table)} objects")
    return ObjectsOutput(labels, meshes, table)
