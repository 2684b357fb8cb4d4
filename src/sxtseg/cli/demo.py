"""The whole job on a simulated tomogram with the bundled model, scored against truth.

Example: sxtseg demo demo_out
"""

from pathlib import Path

import typer

from sxtseg.cli._common import not_yet

NAME = "demo"


def command(out_dir: Path = typer.Argument(Path("demo_out"), help="Output folder.")) -> int:
    not_yet(NAME, "issue 7")
    return 1
