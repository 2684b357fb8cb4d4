"""The whole job on a simulated tomogram with the bundled model, scored against its truth.

Simulates a tomogram with a seed the model never saw (OUT_DIR/simulated),
runs `sxtseg run` on it (OUT_DIR/results), and prints `sxtseg evaluate`
scores of the mask against the simulated membrane truth (OUT_DIR/scores.json).
When the simulation marks flat membranes (hidden by the missing wedge), the
first score line is boundary F1 on visible membranes (the headline number),
with the full-truth line beside it.

Example: sxtseg demo demo_out
"""

from pathlib import Path

import typer

NAME = "demo"


def command(
    out_dir: Path = typer.Argument(Path("demo_out"), help="Output folder."),
    profile: str = typer.Option("bessy-u41", "--profile", help="Beamline profile to simulate."),
    shape: str = typer.Option("64,256,256", "--shape", help="Z,Y,X voxels of the tomogram."),
    seed: int | None = typer.Option(None, "--seed", help="Simulation seed (default: unseen)."),
    model: str = typer.Option("default", "--model", "-m", help="'default' or a model folder."),
    device: str | None = typer.Option(None, "--device", help="auto, cpu or cuda[:N]."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Reuse an existing folder."),
) -> int:
    from sxtseg.cli._common import parse_shape
    from sxtseg.cli._progress import StageBar
    from sxtseg.demo import DEMO_SEED, DemoConfig, headline, run_demo
    from sxtseg.pipeline import run_config_from

    cfg = DemoConfig(
        profile=profile,
        shape=parse_shape(shape),
        seed=DEMO_SEED if seed is None else seed,
        run=run_config_from(None, model=model, device=device),
    )
    with StageBar() as bar:
        res = run_demo(out_dir, config=cfg, overwrite=overwrite, progress=bar.update)
    s = res.scores["mask"]
    lines = [
        f"demo: {profile} tomogram {shape} (seed {cfg.seed}), model '{res.scores['model']}'",
        *(f"  {line}" for line in headline(s).splitlines()),
        f"  voxel F1 {s['f1']:.3f}  precision {s['precision']:.3f}  recall {s['recall']:.3f}  "
        f"IoU {s['iou']:.3f}",
        f"  objects: {res.scores['objects']}",
        f"outputs:  {res.run.out_dir}  (mask, probabilities, instances, surfaces/, objects.csv,"
        " previews, summary.json)",
        f"truth:    {res.simulation_dir}",
        f"scores:   {res.out_dir / 'scores.json'}",
    ]
    if not res.scores.get("model_trained", True):
        lines.append("WARNING: the model is an untrained placeholder; scores are meaningless.")
    typer.echo("\n".join(lines))
    return 0
