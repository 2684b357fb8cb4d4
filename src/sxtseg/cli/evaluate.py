"""Score a prediction against ground truth; one JSON object on stdout.

Example: sxtseg evaluate mask.mrc membranes.mrc --tolerance 2
"""

from pathlib import Path

import typer

from sxtseg.cli._common import not_yet

NAME = "evaluate"


def command(
    pred: Path = typer.Argument(..., help="Prediction (mask or probabilities)."),
    truth: Path = typer.Argument(..., help="Ground-truth mask."),
) -> int:
    not_yet(NAME, "issue 7")
    return 1
