"""The whole job: segment, post-process, surfaces, measurements and previews.

Example: sxtseg run tomo.mrc -o results/
"""

from pathlib import Path

import typer

from sxtseg.cli._common import not_yet

NAME = "run"


def command(
    input: Path = typer.Argument(..., help="Tomogram."),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder."),
) -> int:
    not_yet(NAME, "issue 7")
    return 1
