"""Measure objects in a mask or instance volume: one CSV row per object, in nm.

A binary mask holding membrane outlines becomes filled compartments (closed
contours filled in 3D and per Z slice); a mask of solid objects is used as
is; touching solid objects are split with a seeded watershed. With
--instances the labels are measured as they are. Columns: id, voxels,
volume_nm3, mesh_volume_nm3, surface_nm2, surface_to_volume_per_um,
centroids, ellipsoid axes, sphericity, feret_max_nm, touches_border and
per-Z-slice cross-section statistics. A .parquet twin is written when
pyarrow is installed. With --surfaces, areas, mesh volumes and Feret
diameters are those of the meshes in a surfaces folder (made by `sxtseg
surfaces --instances` from the same instance volume).

Example: sxtseg measure mask.mrc -o objects.csv --min-volume 1e5
"""

from pathlib import Path

import typer

from sxtseg.cli._common import OVERWRITE, VOXEL_SIZE, parse_voxel_size
from sxtseg.cli._objects import (
    CONNECTIVITY,
    MAX_VOLUME,
    MIN_VOLUME,
    MODE,
    PROTRUSIONS,
    SPLIT,
    SPLIT_DEPTH,
    THRESHOLD,
    objects_config,
)

NAME = "measure"


def command(
    mask: Path = typer.Argument(..., help="Mask or instance volume (.mrc .tif .zarr .h5)."),
    output: Path = typer.Option(..., "-o", "--output", help="Table to write (.csv .tsv .parquet)."),
    instances: bool = typer.Option(
        False, "--instances", help="The input holds instance labels (0 = background)."
    ),
    voxel_size: str | None = VOXEL_SIZE,
    overwrite: bool = OVERWRITE,
    min_volume: float | None = MIN_VOLUME,
    max_volume: float | None = MAX_VOLUME,
    mode: str = MODE,
    connectivity: int = CONNECTIVITY,
    split: bool = SPLIT,
    split_depth: float | None = SPLIT_DEPTH,
    smooth: int = typer.Option(
        15, "--smooth", help="Taubin smoothing pairs before surface areas (0 = off)."
    ),
    protrusions: float | None = PROTRUSIONS,
    threshold: float = THRESHOLD,
    write_instances: Path | None = typer.Option(
        None, "--write-instances", help="Also write the instance volume (e.g. instances.mrc)."
    ),
    surfaces: Path | None = typer.Option(
        None,
        "--surfaces",
        help="Measure the meshes of this folder (from `sxtseg surfaces` on the same instances) "
        "instead of meshing again.",
    ),
) -> int:
    from sxtseg.errors import InputError
    from sxtseg.jobs import measure_file
    from sxtseg.morphometry import MeasureConfig

    objects = objects_config(
        mode=mode, connectivity=connectivity, split=split, split_depth=split_depth,
        protrusions=protrusions, min_volume=min_volume, max_volume=max_volume,
    )  # fmt: skip
    try:
        config = MeasureConfig(smooth_iterations=smooth)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    from sxtseg.cli._common import tqdm_progress

    with tqdm_progress("measuring", unit="obj") as progress:
        result = measure_file(
            mask,
            output,
            instances=instances,
            voxel_size=parse_voxel_size(voxel_size),
            objects=objects,
            config=config,
            threshold=threshold,
            surfaces=surfaces,
            instances_path=write_instances,
            overwrite=overwrite,
            progress=progress,
        )
    typer.echo(f"{len(result.table)} objects -> " + ", ".join(str(p) for p in result.paths))
    return 0
