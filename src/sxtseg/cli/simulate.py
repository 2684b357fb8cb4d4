"""Simulate a cryo-SXT tomogram with exact ground truth.

Example: sxtseg simulate out --profile bessy-u41 --shape 64,256,256 --seed 1
"""

from pathlib import Path

import typer

from sxtseg.cli._common import not_yet

NAME = "simulate"


def command(
    out_dir: Path = typer.Argument(..., help="Output folder."),
    profile: str = typer.Option("bessy-u41", "--profile", help="Beamline profile or YAML file."),
    shape: str = typer.Option("64,256,256", "--shape", help="Z,Y,X voxels."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
) -> int:
    not_yet(NAME, "issue 3")
    return 1
