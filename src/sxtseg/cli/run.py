"""The whole job on one tomogram: segment, post-process, objects, surfaces, measurements, previews.

Writes mask, probabilities, instances, surfaces/, objects.csv, PNG previews
and summary.json (settings, versions, timings per stage) into OUT_DIR. A rerun
skips the stages that are already done with the same settings (--force runs
them all).

Example: sxtseg run tomo.mrc -o results/
"""

from pathlib import Path

import typer

from sxtseg.cli._common import VOXEL_SIZE, parse_voxel_size

NAME = "run"


def command(
    input: Path = typer.Argument(..., help="Tomogram (.mrc .rec .st .ali .tif .zarr .h5)."),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder."),
    model: str = typer.Option("default", "--model", "-m", help="'default' or a model folder."),
    threshold: float | None = typer.Option(
        None, "--threshold", "-t", help="Mask threshold (default: the model's, else 0.9)."
    ),
    device: str | None = typer.Option(None, "--device", help="auto, cpu or cuda[:N]."),
    tta: bool | None = typer.Option(None, "--tta/--no-tta", help="8-fold test-time augmentation."),
    axes: str | None = typer.Option(None, "--axes", help="xy, xz, yz or all."),
    batch_size: int | None = typer.Option(None, "--batch-size", "-b", help="Slices per pass."),
    tile: int | None = typer.Option(None, "--tile", help="Tile edge in px."),
    backend: str | None = typer.Option(
        None, "--backend", help="Network backend: torch (default), onnx, openvino (CPU) or auto."
    ),
    rescale: bool | None = typer.Option(
        None,
        "--rescale/--no-rescale",
        help="Resample slices to the model's pixel size and back (default: on).",
    ),
    min_volume: float | None = typer.Option(
        None, "--min-volume", help="Drop mask components under this volume in nm^3 (default 2e5)."
    ),
    border: float | None = typer.Option(None, "--border", help="Clear a border band in nm."),
    cell_mask: bool | None = typer.Option(
        None, "--cell-mask/--no-cell-mask", help="Keep only the specimen's dense region."
    ),
    formats: str = typer.Option("ply,glb", "--formats", help="Mesh formats: ply,obj,stl,glb."),
    out_format: str = typer.Option(
        "mrc", "--format", help="Volume format of the outputs: mrc, tif, zarr or h5."
    ),
    previews: bool = typer.Option(True, "--previews/--no-previews", help="Write PNG previews."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML with sections segment, postprocess, objects, mesh, measure."
    ),
    voxel_size: str | None = VOXEL_SIZE,
    force: bool = typer.Option(False, "--force", help="Run every stage again."),
) -> int:
    from dataclasses import replace

    from sxtseg.cli._progress import StageBar
    from sxtseg.pipeline import run_config_from, run_pipeline

    cfg = run_config_from(
        config, model=model, threshold=threshold, device=device, tta=tta, axes=axes,
        batch_size=batch_size, tile=tile, rescale=rescale, min_volume=min_volume, border=border,
        cell_mask=cell_mask, formats=formats, out_format=out_format, previews=previews,
    )  # fmt: skip
    if backend is not None:
        cfg = replace(cfg, segment=replace(cfg.segment, backend=backend))
    with StageBar() as bar:
        result = run_pipeline(
            input, output, config=cfg, voxel_size=parse_voxel_size(voxel_size), force=force,
            progress=bar.update,
        )  # fmt: skip
    for name in result.skipped:
        typer.echo(f"{name}: done before (skipped)")
    stages = result.summary["stages"]
    seg = stages.get("segment", {})
    if seg and not seg.get("model_trained", True):
        typer.echo("WARNING: the model is an untrained placeholder; the mask is meaningless.")
    typer.echo(
        f"{stages.get('objects', {}).get('objects', 0)} objects; outputs in {result.out_dir} "
        f"({result.summary['total_seconds']:.1f} s)"
    )
    return 0
