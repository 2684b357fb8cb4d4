"""Simulate cryo-SXT tomograms with exact ground truth (membranes, instances, objects).

Writes OUT_DIR/tomogram.mrc (absorption in 1/um, dense = high), membranes.mrc
(all membranes), flat.mrc (membranes hidden by the missing wedge), instances.mrc,
objects.csv, tilt_angles.tlt, simulation.json, preview_xy.png, preview_xz.png; with
--count K, K such folders OUT_DIR/000 ... reproducibly from one seed. --randomize
draws the instrument of every tomogram from its seed (voxel size, anisotropy,
tilt range, zone plate, dose, extra ice, jitter, contrast, 8-bit export).

Example: sxtseg simulate out --profile bessy-u41 --shape 64,256,256 --seed 1
"""

from pathlib import Path

import typer

from sxtseg.cli._common import OVERWRITE, parse_shape

NAME = "simulate"


def command(
    out_dir: Path = typer.Argument(..., help="Output folder."),
    profile: str = typer.Option(
        "bessy-u41",
        "--profile",
        help="bessy-u41, alba-mistral, diamond-b24, lab-25nm or a YAML file.",
    ),
    shape: str = typer.Option(
        "64,256,256", "--shape", help="Z,Y,X voxels (Z = beam, Y = tilt axis)."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same files)."),
    count: int = typer.Option(1, "--count", min=1, help="Number of tomograms (subfolders 000...)."),
    recipe: str = typer.Option(
        None,
        "--recipe",
        help="periphery, perinuclear or yeast (default: periphery; cycles with --count).",
    ),
    randomize: bool = typer.Option(
        False,
        "--randomize",
        help="Draw a random instrument per tomogram from the seed (settings in simulation.json).",
    ),
    phantom: bool = typer.Option(
        False, "--phantom", help="Also write phantom.mrc (true absorption)."
    ),
    overwrite: bool = OVERWRITE,
) -> int:
    import logging

    from tqdm import tqdm

    from sxtseg import simulate as sim
    from sxtseg.simulate.profiles import load_profile
    from sxtseg.simulate.recipes import get_recipe

    zyx = parse_shape(shape)
    prof = load_profile(profile)
    if recipe is not None:
        get_recipe(recipe)
    logging.getLogger("sxtseg").setLevel(logging.WARNING)
    if count == 1:
        with tqdm(total=100, desc="simulate", unit="%", leave=False) as bar:

            def report(stage: str, frac: float) -> None:
                bar.set_postfix_str(stage, refresh=False)
                bar.update(max(0, round(100 * frac) - bar.n))

            result = sim.simulate(
                prof, shape=zyx, seed=seed, recipe=recipe, randomize=randomize, progress=report
            )
        sim.write_simulation(result, out_dir, overwrite=overwrite, phantom=phantom)
        secs = sum(result.timings.values())
        vz, vy, vx = result.tomogram.voxel_size or (0.0, 0.0, 0.0)
        size = f"{vz:g} nm" if vz == vy == vx else f"{vz:g} x {vy:g} x {vx:g} nm (z,y,x)"
        typer.echo(f"wrote {out_dir} ({zyx[0]}x{zyx[1]}x{zyx[2]} at {size}, {secs:.1f} s)")
        return 0
    with tqdm(total=count, desc="simulate", unit="tomo") as bar:
        sim.simulate_dataset(
            out_dir,
            profile=prof,
            shape=zyx,
            seed=seed,
            count=count,
            recipe=recipe,
            randomize=randomize,
            overwrite=overwrite,
            phantom=phantom,
            progress=bar.update,
        )
    typer.echo(f"wrote {count} tomograms to {out_dir}")
    return 0
