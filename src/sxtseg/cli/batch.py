"""The whole job on many tomograms, in parallel on dask (local processes, SLURM or a scheduler).

INPUT is any number of files, folders or glob patterns; a folder is scanned
for tomograms (a .zarr folder or a folder of TIFF slices is one tomogram; in
a folder the simulator wrote only tomogram.* counts). Each tomogram's outputs
go to OUT_DIR/<name>/ (000/tomogram.mrc -> 000_tomogram); OUT_DIR/objects.csv
holds every object with a tomogram column and OUT_DIR/batch.json the status,
timings and errors. A rerun of the same command skips finished tomograms.
Exit status 0 if all succeeded, 2 if the only failures were unreadable
inputs, 1 otherwise.

Example: sxtseg batch sims/ 'more/*.mrc' -o results/ --workers 2
"""

from pathlib import Path

import typer

from sxtseg.cli._common import VOXEL_SIZE, parse_voxel_size

NAME = "batch"


def command(
    inputs: list[str] = typer.Argument(
        ..., metavar="INPUT...", help="Tomograms, folders or glob patterns."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder."),
    model: str = typer.Option("default", "--model", "-m", help="'default' or a model folder."),
    threshold: float | None = typer.Option(None, "--threshold", "-t", help="Mask threshold."),
    device: str | None = typer.Option(None, "--device", help="auto, cpu or cuda."),
    tta: bool | None = typer.Option(None, "--tta/--no-tta", help="8-fold test-time augmentation."),
    axes: str | None = typer.Option(None, "--axes", help="xy, xz, yz or all."),
    batch_size: int | None = typer.Option(None, "--batch-size", "-b", help="Slices per pass."),
    tile: int | None = typer.Option(None, "--tile", help="Tile edge in px."),
    min_volume: float | None = typer.Option(
        None, "--min-volume", help="Drop mask components under this volume in nm^3 (default 2e5)."
    ),
    border: float | None = typer.Option(None, "--border", help="Clear a border band in nm."),
    cell_mask: bool | None = typer.Option(
        None, "--cell-mask/--no-cell-mask", help="Keep only the specimen's dense region."
    ),
    formats: str = typer.Option("ply,glb", "--formats", help="Mesh formats: ply,obj,stl,glb."),
    out_format: str = typer.Option(
        "mrc", "--format", help="Volume format of the outputs: mrc, tif, zarr or h5."
    ),
    previews: bool = typer.Option(True, "--previews/--no-previews", help="Write PNG previews."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML with sections segment, postprocess, objects, mesh, measure."
    ),
    voxel_size: str | None = VOXEL_SIZE,
    force: bool = typer.Option(False, "--force", help="Run every stage of every tomogram again."),
    cluster: str = typer.Option("local", "--cluster", help="local or slurm."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Use a running scheduler (tcp://HOST:PORT) instead."
    ),
    workers: int | None = typer.Option(
        None, "--workers", "-w", help="Local worker processes (default: sized to the machine)."
    ),
    memory_per_worker: str | None = typer.Option(
        None,
        "--memory-per-worker",
        help="Local memory limit per worker, e.g. 6GB (default: sized for the largest "
        "tomogram, ~5GB for 256x1024x1024).",
    ),
    threads: int | None = typer.Option(
        None, "--threads", help="Compute threads per worker (default: its share of the cores)."
    ),
    gpus: int | None = typer.Option(
        None, "--gpus", help="Local GPUs, one worker each (default: all unless --device cpu)."
    ),
    queue: str | None = typer.Option(None, "--queue", help="SLURM partition."),
    walltime: str | None = typer.Option(None, "--walltime", help="SLURM job time, HH:MM:SS."),
    memory: str | None = typer.Option(None, "--memory", help="SLURM memory per job, e.g. 16GB."),
    account: str | None = typer.Option(None, "--account", help="SLURM account."),
    jobs: int = typer.Option(1, "--jobs", help="SLURM jobs (one worker each)."),
    cores: int = typer.Option(4, "--cores", help="CPU cores per SLURM job."),
    gpu_jobs: bool = typer.Option(
        False, "--gpu-jobs", help="One GPU per SLURM job or scheduler worker (resource GPU=1)."
    ),
    interface: str | None = typer.Option(
        None, "--interface", help="Network interface SLURM workers reach the scheduler on."
    ),
    scheduler_host: str | None = typer.Option(
        None, "--scheduler-host", help="Address the scheduler listens on (e.g. 127.0.0.1)."
    ),
    job_directive: list[str] = typer.Option(
        [], "--job-directive", help="Extra #SBATCH option, e.g. --job-directive=--qos=short."
    ),
    retries: int = typer.Option(
        1, "--retries", help="Reruns of a task after an internal error or a lost worker."
    ),
    dashboard: bool = typer.Option(
        True, "--dashboard/--no-dashboard", help="Serve dask's dashboard (needs bokeh)."
    ),
) -> int:
    from sxtseg.batch import ClusterConfig, run_batch
    from sxtseg.errors import InputError
    from sxtseg.pipeline import run_config_from

    cfg = run_config_from(
        config, model=model, threshold=threshold, device=device, tta=tta, axes=axes,
        batch_size=batch_size, tile=tile, min_volume=min_volume, border=border,
        cell_mask=cell_mask, formats=formats, out_format=out_format, previews=previews,
    )  # fmt: skip
    if cluster not in ("local", "slurm"):
        raise InputError(f"--cluster: expected local or slurm, got {cluster!r}")
    ccfg = ClusterConfig(
        kind="scheduler" if scheduler else cluster, workers=workers,
        memory_per_worker=memory_per_worker, threads=threads, gpus=gpus, scheduler=scheduler,
        queue=queue, walltime=walltime, memory=memory, account=account, jobs=jobs, cores=cores,
        gpu_jobs=gpu_jobs, interface=interface, scheduler_host=scheduler_host,
        job_directives=tuple(job_directive), dashboard=dashboard, retries=retries,
    )  # fmt: skip
    _quiet_dask()
    bar = _Bar()
    try:
        result = run_batch(
            inputs, output, config=cfg, cluster=ccfg, voxel_size=parse_voxel_size(voxel_size),
            force=force, on_cluster=bar.start, on_result=bar.update,
        )  # fmt: skip
    finally:
        bar.close()
    c = result.counts
    typer.echo(
        f"{c['done']} done, {c['skipped']} skipped (done before), {c['failed']} failed in "
        f"{result.seconds:.1f} s; objects in {result.objects_csv}, status in {result.batch_json}"
    )
    return result.exit_status


def _quiet_dask() -> None:
    """dask's own INFO lines only with -vv."""
    import logging

    import distributed  # noqa: F401  (sets its loggers' levels on import)

    debug = logging.getLogger().getEffectiveLevel() <= logging.DEBUG
    for name in ("distributed", "dask_jobqueue", "tornado"):
        logging.getLogger(name).setLevel(logging.INFO if debug else logging.WARNING)


class _Bar:
    """One progress bar for the whole batch and a line per finished tomogram."""

    def __init__(self) -> None:
        self._bar = None

    def start(self, info: object, total: int) -> None:
        from tqdm import tqdm

        where = getattr(info, "kind", "?")
        n = getattr(info, "workers", None)
        plural = "s" if n != 1 else ""
        typer.echo(f"{total} tomograms on {where}" + (f" ({n} worker{plural})" if n else ""))
        link = getattr(info, "dashboard", None)
        if link:
            typer.echo(f"dashboard: {link}")
        self._bar = tqdm(total=total, unit="tomogram", disable=None, leave=True)

    def update(self, entry: dict, done: int, total: int) -> None:
        from tqdm import tqdm

        status = entry["status"]
        if status == "failed":
            line = f"{entry['name']}: FAILED: {entry.get('error', '')}"
        elif status == "skipped":
            line = f"{entry['name']}: done before (skipped)"
        else:
            line = f"{entry['name']}: {entry.get('objects', 0)} objects ({entry['seconds']:.1f} s)"
        tqdm.write(line)
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
