"""Make 3D surfaces in nm from a mask or instance volume.

Example: sxtseg surfaces mask.mrc -o surfaces/
"""

from pathlib import Path

import typer

from sxtseg.cli._common import not_yet

NAME = "surfaces"


def command(
    mask: Path = typer.Argument(..., help="Mask or instance volume."),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder."),
) -> int:
    not_yet(NAME, "issue 6")
    return 1
