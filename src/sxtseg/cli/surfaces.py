"""Make 3D surfaces in nm from a mask or instance volume.

One closed surface per object (marching cubes on the object's padded
bounding box at the physical voxel size, Taubin smoothing, optional
decimation), written per object as PLY/OBJ/STL/GLB plus a combined scene
with one colour per object, a manifest (surfaces.csv), the instance volume
made from a mask, and PNG previews. Vertex columns are x, y, z in nm:
x = ix * voxel_x + origin_x (same for y, z), the frame of the MRC header.

Example: sxtseg surfaces mask.mrc -o surfaces/ --formats ply,glb --faces 20000
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

NAME = "surfaces"


def command(
    mask: Path = typer.Argument(..., help="Mask or instance volume (.mrc .tif .zarr .h5)."),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder."),
    instances: bool = typer.Option(
        False, "--instances", help="The input holds instance labels (0 = background)."
    ),
    voxel_size: str | None = VOXEL_SIZE,
    overwrite: bool = OVERWRITE,
    formats: str = typer.Option("ply,glb", "--formats", help="Some of ply,obj,stl,glb."),
    smooth: int = typer.Option(15, "--smooth", help="Taubin smoothing pairs (0 = off)."),
    faces: int | None = typer.Option(
        None, "--faces", help="Decimate each object to at most N faces."
    ),
    step: int = typer.Option(1, "--step", help="Marching-cubes step in voxels (coarser, faster)."),
    min_volume: float | None = MIN_VOLUME,
    max_volume: float | None = MAX_VOLUME,
    mode: str = MODE,
    connectivity: int = CONNECTIVITY,
    split: bool = SPLIT,
    split_depth: float | None = SPLIT_DEPTH,
    protrusions: float | None = PROTRUSIONS,
    threshold: float = THRESHOLD,
    tomogram: Path | None = typer.Option(
        None, "--tomogram", help="Tomogram under the slice-overlay preview."
    ),
    preview: bool = typer.Option(True, "--preview/--no-preview", help="Write PNG previews."),
) -> int:
    from sxtseg.errors import InputError
    from sxtseg.jobs import surfaces_file
    from sxtseg.mesh import MeshConfig

    objects = objects_config(
        mode=mode, connectivity=connectivity, split=split, split_depth=split_depth,
        protrusions=protrusions, min_volume=min_volume, max_volume=max_volume,
    )  # fmt: skip
    try:
        config = MeshConfig(smooth_iterations=smooth, target_faces=faces, step_size=step)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    from sxtseg.cli._common import tqdm_progress

    with tqdm_progress("meshing", unit="obj") as progress:
        result = surfaces_file(
            mask,
            output,
            instances=instances,
            voxel_size=parse_voxel_size(voxel_size),
            objects=objects,
            config=config,
            formats=formats,
            threshold=threshold,
            tomogram=tomogram,
            preview=preview,
            overwrite=overwrite,
            progress=progress,
        )
    typer.echo(f"{result.count} objects -> {result.out_dir}")
    return 0
