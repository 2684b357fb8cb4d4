"""Train the two-headed network on labelled and unlabelled tomograms.

Example: sxtseg train --labeled sim/lab --unlabeled sim/unl --preset tiny -o model --epochs 2
"""

from pathlib import Path

import typer

from sxtseg.cli._common import not_yet

NAME = "train"


def command(
    labeled: list[Path] = typer.Option(..., "--labeled", help="Folder(s) of tomogram + mask."),
    unlabeled: list[Path] = typer.Option([], "--unlabeled", help="Tomogram folder(s)."),
    preset: str = typer.Option("small", "--preset", help="tiny, small, base or paper."),
    output: Path = typer.Option(..., "-o", "--output", help="Model folder to write."),
) -> int:
    not_yet(NAME, "issue 4")
    return 1
