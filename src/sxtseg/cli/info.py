"""Describe a tomogram or mask: shape, dtype, voxel size, value range, size, tilt range.

Example: sxtseg info tomogram.mrc
"""

import json
from dataclasses import asdict
from pathlib import Path

import typer

from sxtseg.cli._common import VOXEL_SIZE, parse_voxel_size

NAME = "info"


def _fmt_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} TiB"


def command(
    file: Path = typer.Argument(..., help="Volume file (.mrc .rec .st .ali .tif .zarr .h5)."),
    voxel_size: str | None = VOXEL_SIZE,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> int:
    from sxtseg.io.convert import describe

    info = describe(file, voxel_size=parse_voxel_size(voxel_size))
    if as_json:
        typer.echo(json.dumps(asdict(info)))
        return 0
    z, y, x = info.shape
    vs = info.voxel_size_nm
    lines = [
        f"file:        {info.path} ({info.format})",
        f"shape:       {z} x {y} x {x} (Z, Y, X)",
        f"dtype:       {info.dtype}",
        "voxel size:  "
        + ("unknown (pass --voxel-size NM)" if vs is None else "{:g} x {:g} x {:g} nm".format(*vs)),
    ]
    if info.extent_nm is not None:
        ez, ey, ex = (e / 1000 for e in info.extent_nm)
        lines.append(f"extent:      {ez:.3g} x {ey:.3g} x {ex:.3g} µm")
    lo, hi, mean = info.minimum, info.maximum, info.mean
    lines.append(f"values:      min {lo:.6g}  max {hi:.6g}  mean {mean:.6g}")
    if info.nonfinite:
        lines.append(f"non-finite:  {info.nonfinite} NaN/Inf values")
    lines.append(f"in memory:   {_fmt_bytes(info.nbytes)}")
    if info.tilt_range_deg is not None:
        lo, hi, n = info.tilt_range_deg
        lines.append(f"tilt range:  {lo:+.1f}° to {hi:+.1f}° ({n} angles)")
    typer.echo("\n".join(lines))
    return 0
