"""File-level jobs combining objects, surfaces and measurements: ``sxtseg surfaces``, ``measure``.

They sit above :mod:`sxtseg.morphometry` and :mod:`sxtseg.mesh` (morphometry
may use mesh, never the reverse) and below the command line and
:mod:`sxtseg.pipeline`:

- :func:`surfaces_file` — mask or instance file -> a folder of surfaces in nm;
- :func:`measure_file` — mask or instance file -> a table of objects in nm,
  measuring the meshes of a surfaces folder when given one, so that the
  areas and volumes in the table are those of the delivered meshes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sxtseg.errors import InputError
from sxtseg.types import Volume

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from sxtseg.mesh.config import MeshConfig
    from sxtseg.mesh.job import SurfacesResult
    from sxtseg.morphometry.config import MeasureConfig, ObjectsConfig
    from sxtseg.types import SpacingLike

__all__ = ["MeasureResult", "measure_file", "surfaces_file"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class MeasureResult:
    """What :func:`measure_file` produced.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per object (see :data:`sxtseg.morphometry.COLUMNS`).
    paths : list of Path
        Files written (table, Parquet twin, instance volume).
    """

    table: pd.DataFrame
    paths: list[Path]


def surfaces_file(
    mask_path: str | Path,
    out_dir: str | Path,
    *,
    instances: bool = False,
    voxel_size: SpacingLike | None = None,
    objects: ObjectsConfig | None = None,
    config: MeshConfig | None = None,
    formats: str | Sequence[str] = ("ply", "glb"),
    threshold: float = 0.5,
    tomogram: str | Path | None = None,
    preview: bool = True,
    write_labels: bool = True,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> SurfacesResult:
    """Make and write the surfaces of every object of a mask or instance file.

    Parameters
    ----------
    mask_path : str or Path
    out_dir : str or Path
        Created whole (or replaced with ``overwrite``): ``objects/``,
        ``scene.*``, ``surfaces.csv``, ``surfaces.json``, ``instances.mrc``
        (for a mask input), ``scene.png`` and ``slices.png``.
    instances, voxel_size, objects, threshold
        See :func:`sxtseg.morphometry.load_objects` (``objects`` is an
        :class:`~sxtseg.morphometry.ObjectsConfig`).
    config : MeshConfig, optional
    formats : str or sequence of str
        Per-object and scene formats among ``ply, obj, stl, glb``.
    tomogram : str or Path, optional
        A tomogram for the slice-overlay preview (same shape as the mask).
    preview : bool
        Write the PNG previews.
    write_labels : bool
        Write the instance volume made from a mask (``instances.mrc``, or
        ``instances.tif`` beyond 65,535 objects).
    overwrite : bool
    progress : callable(done, total), optional
        Called once per meshed object.

    Returns
    -------
    SurfacesResult
    """
    from sxtseg.io import open_volume
    from sxtseg.mesh.export import parse_formats
    from sxtseg.mesh.job import write_surface_folder
    from sxtseg.morphometry.job import load_objects, write_instances

    parse_formats(formats)
    out = Path(out_dir)
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InputError(f"{out} exists and is not empty (pass --overwrite to replace it)")
    labels = load_objects(
        mask_path, instances=instances, voxel_size=voxel_size, config=objects, threshold=threshold
    )

    def also(folder: Path) -> list[Path]:
        if not write_labels or instances:
            return []
        data = np.asarray(labels.data)
        suffix = ".mrc" if data.max(initial=0) <= np.iinfo(np.uint16).max else ".tif"
        return [write_instances(folder / f"instances{suffix}", labels)]

    with contextlib.ExitStack() as stack:
        tomo = None
        if preview and tomogram is not None:
            # lazy (memory-mapped where the format allows): the preview reads three slices
            tomo = stack.enter_context(open_volume(tomogram)).lazy
        return write_surface_folder(
            labels, out, config=config, formats=formats, tomogram=tomo, preview=preview,
            also=also, source=str(mask_path), overwrite=overwrite, progress=progress,
        )  # fmt: skip


def measure_file(
    mask_path: str | Path,
    table_path: str | Path,
    *,
    instances: bool = False,
    voxel_size: SpacingLike | None = None,
    objects: ObjectsConfig | None = None,
    config: MeasureConfig | None = None,
    threshold: float = 0.5,
    surfaces: str | Path | None = None,
    instances_path: str | Path | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> MeasureResult:
    """``sxtseg measure``: mask or instance file -> table of objects in nm.

    Parameters
    ----------
    mask_path : str or Path
    table_path : str or Path
        ``.csv``/``.tsv`` (plus a ``.parquet`` twin when pyarrow is present)
        or ``.parquet``.
    instances, voxel_size, objects, threshold
        See :func:`sxtseg.morphometry.load_objects`.
    config : MeasureConfig, optional
    surfaces : str or Path, optional
        A surfaces folder made from the same objects (:func:`surfaces_file`
        on the instance volume): surface areas, mesh volumes and Feret
        diameters are those of its meshes, which are not made again. Without
        it, each object is meshed here with ``config.smooth_iterations``.
    instances_path : str or Path, optional
        Also write the instance volume here.
    overwrite : bool
    progress : callable(done, total), optional
        Called once per measured object.

    Returns
    -------
    MeasureResult

    Raises
    ------
    InputError
        Unreadable input, an existing table without ``overwrite``, or a
        surfaces folder whose objects differ from the input's.
    """
    from sxtseg.mesh.job import read_surface_folder
    from sxtseg.morphometry.job import load_objects, write_instances
    from sxtseg.morphometry.measure import measure_objects, write_table

    table_path = Path(table_path)
    if table_path.exists() and not overwrite:
        raise InputError(f"{table_path} exists (pass --overwrite to replace it)")
    labels: Volume = load_objects(
        mask_path, instances=instances, voxel_size=voxel_size, config=objects, threshold=threshold
    )
    assert labels.voxel_size is not None
    data = np.asarray(labels.data)
    meshes = None
    if surfaces is not None:
        meshes = read_surface_folder(surfaces)
        ids = np.unique(data)
        ids = ids[ids != 0]
        if sorted(m.id for m in meshes) != ids.tolist():
            raise InputError(
                f"{surfaces}: its {len(meshes)} meshes are not the {len(ids)} objects of "
                f"{mask_path} (make the surfaces from the same instances)"
            )
    table = measure_objects(
        data, spacing=labels.voxel_size, origin=labels.origin, config=config, meshes=meshes,
        progress=progress,
    )  # fmt: skip
    paths = write_table(table, table_path, overwrite=overwrite)
    if instances_path is not None:
        paths.append(write_instances(instances_path, labels, overwrite=overwrite))
    log.info("%d objects measured -> %s", len(table), table_path)
    return MeasureResult(table, paths)
