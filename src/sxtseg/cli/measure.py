"""Measure objects in a mask or instance volume: one CSV row per object, in nm.

Example: sxtseg measure mask.mrc -o objects.csv
"""

from pathlib import Path

import typer

from sxtseg.cli._common import not_yet

NAME = "measure"


def command(
    mask: Path = typer.Argument(..., help="Mask or instance volume."),
    output: Path = typer.Option(..., "-o", "--output", help="CSV table to write."),
) -> int:
    not_yet(NAME, "issue 6")
    return 1
