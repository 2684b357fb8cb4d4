"""Score a prediction against ground truth; one JSON object on stdout.

PRED may be probabilities (float in [0, 1], or uint8 0..255 read as v/255),
thresholded at --threshold (p >= T is foreground), or a mask / label volume
(non-zero = foreground). TRUTH is a mask or label volume. Prints accuracy,
precision, recall, f1, iou (and boundary_precision, boundary_recall,
boundary_f1 with --tolerance; detection_* with --instances).

Example: sxtseg evaluate mask.mrc membranes.mrc --tolerance 2
"""

from pathlib import Path

import typer

from sxtseg.cli._common import VOXEL_SIZE, parse_voxel_size

NAME = "evaluate"


def command(
    pred: Path = typer.Argument(..., help="Prediction (probabilities, mask or labels)."),
    truth: Path = typer.Argument(..., help="Ground-truth mask or label volume."),
    threshold: float = typer.Option(
        0.9, "--threshold", min=0.0, max=1.0, help="Probability threshold (p >= T)."
    ),
    tolerance: float | None = typer.Option(
        None, "--tolerance", min=0.0,
        help="Boundary tolerance in voxels; adds boundary precision/recall/F1.",
    ),
    per_slice: Path | None = typer.Option(
        None, "--per-slice", help="Write one row of scores per Z slice to this CSV file."
    ),
    instances: bool = typer.Option(
        False, "--instances",
        help="Also match objects at IoU >= --iou (instance volumes, or connected components).",
    ),
    iou: float = typer.Option(0.5, "--iou", min=0.0, max=1.0, help="IoU for an object match."),
    voxel_size: str | None = VOXEL_SIZE,
) -> int:
    import json

    from sxtseg.errors import InputError
    from sxtseg.evaluate import EvaluateConfig, evaluate_files

    if threshold <= 0:
        raise InputError("--threshold must be > 0")
    if iou <= 0:
        raise InputError("--iou must be > 0")
    config = EvaluateConfig(threshold=threshold, tolerance=tolerance, instances=instances, iou=iou)
    result = evaluate_files(pred, truth, config=config, voxel_size=parse_voxel_size(voxel_size),
                            per_slice_csv=per_slice)  # fmt: skip
    out = result.to_dict()
    out["pred"], out["truth"] = str(pred), str(truth)
    if per_slice is not None:
        out["per_slice_csv"] = str(per_slice)
    typer.echo(json.dumps(out))
    return 0
