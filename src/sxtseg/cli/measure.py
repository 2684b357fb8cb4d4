"""Measure objects in a mask or instance volume: one CSV row per object, in nm.

A binary mask holding membrane outlines becomes filled compartments (closed
contours filled in 3D and per Z slice); a mask of solid objects is used as
is; touching solid objects are split with a seeded watershed. With
--instances the labels are measured as they are. Columns: id, voxels,
volume_nm3, mesh_volume_nm3, surface_nm2, surface_to_volume_per_um,
centroids, ellipsoid axes, sphericity, feret_max_nm, touches_border and
per-Z-slice cross-section statistics. A .parquet twin is written when
pyarrow is installed.

Example: sxtseg measure mask.mrc -o objects.csv --min-volume 1e5
"""

from pathlib import Path

import typer

from sxtseg.cli._common import OVERWRITE, VOXEL_SIZE, parse_voxel_size

NAME = "measure"


def command(
    mask: Path = typer.Argument(..., help="Mask or instance volume (.mrc .tif .zarr .h5)."),
    output: Path = typer.Option(..., "-o", "--output", help="Table to write (.csv .tsv .parquet)."),
    instances: bool = typer.Option(
        False, "--instances", help="The input holds instance labels (0 = background)."
    ),
    voxel_size: str | None = VOXEL_SIZE,
    overwrite: bool = OVERWRITE,
    min_volume: float | None = typer.Option(
        None, "--min-volume", help="Drop objects smaller than this many nm³."
    ),
    max_volume: float | None = typer.Option(
        None, "--max-volume", help="Drop objects larger than this many nm³."
    ),
    mode: str = typer.Option(
        "auto", "--mode", help="Mask kind: auto, outlines (membranes) or filled."
    ),
    connectivity: int = typer.Option(6, "--connectivity", help="Foreground neighbours: 6 or 26."),
    split: bool = typer.Option(
        True, "--split/--no-split", help="Split touching solid objects (watershed)."
    ),
    split_depth: float | None = typer.Option(
        None, "--split-depth", help="Neck depth in nm needed to split (default 2 voxels)."
    ),
    smooth: int = typer.Option(
        15, "--smooth", help="Taubin smoothing pairs before surface areas (0 = off)."
    ),
    protrusions: float | None = typer.Option(
        None,
        "--protrusions",
        help="Cut protrusions (filopodia) thinner than 2x this radius in nm off bodies.",
    ),
    threshold: float = typer.Option(0.5, "--threshold", help="Foreground of a float mask: > T."),
    write_instances: Path | None = typer.Option(
        None, "--write-instances", help="Also write the instance volume (e.g. instances.mrc)."
    ),
) -> int:
    from sxtseg.errors import InputError
    from sxtseg.morphometry import MeasureConfig, ObjectsConfig, measure_file

    try:
        objects = ObjectsConfig(
            mode=mode,
            connectivity=connectivity,
            split=split,
            split_depth_nm=split_depth,
            protrusion_radius_nm=protrusions,
            min_volume_nm3=min_volume,
            max_volume_nm3=max_volume,
        )
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
            instances_path=write_instances,
            overwrite=overwrite,
            progress=progress,
        )
    typer.echo(f"{len(result.table)} objects -> " + ", ".join(str(p) for p in result.paths))
    return 0
