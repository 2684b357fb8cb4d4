"""Segment membranes in a tomogram.

Example: sxtseg segment tomo.mrc -o mask.mrc --probabilities prob.mrc
"""

from pathlib import Path

import typer

from sxtseg.cli._common import not_yet

NAME = "segment"


def command(
    input: Path = typer.Argument(..., help="Tomogram (.mrc .rec .tif .zarr .h5)."),
    output: Path = typer.Option(..., "-o", "--output", help="Mask to write."),
) -> int:
    not_yet(NAME, "issue 5")
    return 1
