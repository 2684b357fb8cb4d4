"""Convert a volume between MRC, TIFF, OME-Zarr and HDF5, keeping the voxel size.

Streams slice by slice, so volumes larger than RAM convert.

Example: sxtseg convert tomo.mrc tomo.tif
"""

from pathlib import Path

import typer

from sxtseg.cli._common import OVERWRITE, VOXEL_SIZE, parse_voxel_size

NAME = "convert"


def command(
    src: Path = typer.Argument(..., help="Input volume."),
    dst: Path = typer.Argument(..., help="Output volume; format from the extension."),
    voxel_size: str | None = VOXEL_SIZE,
    dtype: str | None = typer.Option(None, "--dtype", help="Output dtype, e.g. float32, uint8."),
    overwrite: bool = OVERWRITE,
) -> int:
    import numpy as np
    from tqdm import tqdm

    from sxtseg.errors import InputError
    from sxtseg.io import open_volume
    from sxtseg.io.convert import convert_volume

    if dtype is not None:
        try:
            np.dtype(dtype)
        except TypeError:
            raise InputError(f"--dtype: unknown data type {dtype!r}") from None
    with open_volume(src) as reader:
        total = reader.shape[0]
    with tqdm(total=total, unit="slice", desc="convert", disable=None) as bar:
        out = convert_volume(
            src, dst, voxel_size=parse_voxel_size(voxel_size), dtype=dtype,
            overwrite=overwrite, progress=bar.update,
        )  # fmt: skip
    typer.echo(f"wrote {out}")
    return 0
