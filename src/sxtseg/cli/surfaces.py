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
    protrusions: float | None = typer.Option(
        None,
        "--protrusions",
        help="Cut protrusions (filopodia) thinner than 2x this radius in nm off bodies.",
    ),
    threshold: float = typer.Option(0.5, "--threshold", help="Foreground of a float mask: > T."),
    tomogram: Path | None = typer.Option(
        None, "--tomogram", help="Tomogram under the slice-overlay preview."
    ),
    preview: bool = typer.Option(True, "--preview/--no-preview", help="Write PNG previews."),
) -> int:
    from sxtseg.errors import InputError
    from sxtseg.mesh import MeshConfig, surfaces_file
    from sxtseg.morphometry import ObjectsConfig

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
