"""Options shared by the commands that turn a mask into objects (`surfaces`, `measure`)."""

from typing import TYPE_CHECKING

import typer

from sxtseg.errors import InputError

if TYPE_CHECKING:  # pragma: no cover - imported inside the command (fast --help)
    from sxtseg.morphometry.config import ObjectsConfig

__all__ = [
    "CONNECTIVITY",
    "MAX_VOLUME",
    "MIN_VOLUME",
    "MODE",
    "PROTRUSIONS",
    "SPLIT",
    "SPLIT_DEPTH",
    "THRESHOLD",
    "objects_config",
]

MIN_VOLUME = typer.Option(None, "--min-volume", help="Drop objects smaller than this many nm³.")
MAX_VOLUME = typer.Option(None, "--max-volume", help="Drop objects larger than this many nm³.")
MODE = typer.Option("auto", "--mode", help="Mask kind: auto, outlines (membranes) or filled.")
CONNECTIVITY = typer.Option(
    1,
    "--connectivity",
    help="Object neighbourhood: 1 faces, 2 +edges, 3 +corners (6, 18, 26 also accepted).",
)
SPLIT = typer.Option(True, "--split/--no-split", help="Split touching solid objects (watershed).")
SPLIT_DEPTH = typer.Option(
    None, "--split-depth", help="Neck depth in nm needed to split (default 2 voxels)."
)
PROTRUSIONS = typer.Option(
    None,
    "--protrusions",
    help="Cut protrusions (filopodia) thinner than 2x this radius in nm off bodies.",
)
THRESHOLD = typer.Option(0.5, "--threshold", help="Foreground of a float mask: > T.")


def objects_config(
    *,
    mode: str,
    connectivity: int,
    split: bool,
    split_depth: float | None,
    protrusions: float | None,
    min_volume: float | None,
    max_volume: float | None,
) -> "ObjectsConfig":
    """An ``ObjectsConfig`` from the shared options; bad values are an InputError."""
    from sxtseg.morphometry import ObjectsConfig

    try:
        return ObjectsConfig(
            mode=mode,
            connectivity=connectivity,
            split=split,
            split_depth_nm=split_depth,
            protrusion_radius_nm=protrusions,
            min_volume_nm3=min_volume,
            max_volume_nm3=max_volume,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
