"""Score a prediction against ground truth; one JSON object on stdout.

PRED may be probabilities (float in [0, 1], or uint8 0..255 read as v/255),
thresholded at --threshold (p >= T is foreground), or a mask / label volume
(non-zero = foreground). TRUTH is a mask or label volume. Prints accuracy,
precision, recall, f1, iou (and boundary_precision, boundary_recall,
boundary_f1 with --tolerance; detection_* with --instances).

Visible membranes: when TRUTH's folder holds flat.* (the simulator's flat
membranes, hidden by the missing wedge) of the same shape, it is the ignore
mask; --ignore MASK gives another (non-zero = ignored), --no-ignore switches
it off. The JSON then adds visible_precision, visible_recall, visible_f1,
visible_iou and (with --tolerance) visible_boundary_precision,
visible_boundary_recall, visible_boundary_f1 -- the headline number at
tolerance 2 -- beside the full-truth scores, and "ignore": the mask's path.

Examples:
  sxtseg evaluate mask.mrc membranes.mrc --tolerance 2
  sxtseg evaluate prob.mrc sim/membranes.mrc --tolerance 2   # uses sim/flat.mrc
  sxtseg evaluate prob.mrc membranes.mrc --tolerance 2 --ignore unlabelled.mrc
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
    ignore: Path | None = typer.Option(
        None, "--ignore",
        help="Ignore mask (non-zero = truth not scored); adds visible_* scores. "
        "Default: flat.* beside TRUTH, if any.",
    ),
    no_ignore: bool = typer.Option(
        False, "--no-ignore", help="Do not use flat.* beside TRUTH as the ignore mask."
    ),
    planar: bool = typer.Option(
        False, "--planar",
        help="Treat axis 0 as independent 2D images (no boundary matching across slices).",
    ),
    voxel_size: str | None = VOXEL_SIZE,
) -> int:
    import json

    from sxtseg.errors import InputError
    from sxtseg.evaluate import EvaluateConfig, evaluate_files

    if threshold <= 0:
        raise InputError("--threshold must be > 0")
    if iou <= 0:
        raise InputError("--iou must be > 0")
    if ignore is not None and no_ignore:
        raise InputError("--ignore and --no-ignore exclude each other")
    config = EvaluateConfig(threshold=threshold, tolerance=tolerance, instances=instances, iou=iou,
                            planar=planar)  # fmt: skip
    result = evaluate_files(pred, truth, config=config, voxel_size=parse_voxel_size(voxel_size),
                            per_slice_csv=per_slice, ignore=ignore,
                            auto_ignore=not no_ignore)  # fmt: skip
    out = result.to_dict()
    out["pred"], out["truth"] = str(pred), str(truth)
    if per_slice is not None:
        out["per_slice_csv"] = str(per_slice)
    typer.echo(json.dumps(out))
    return 0
