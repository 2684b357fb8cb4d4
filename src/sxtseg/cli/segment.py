"""Segment membranes in a tomogram with the network: a 0/1 mask and, optionally, probabilities.

Streams slabs of slices from the input to the outputs, so tomograms larger
than RAM segment in bounded memory. The mask is probability >= --threshold
(default: the model's calibrated threshold, 0.9 for models without one).
Each slice is resampled to the model's pixel size (nm) and the result back
(--no-rescale turns this off). Voxel size and origin are copied from the
input (or --voxel-size). Formats follow the extensions
(.mrc .rec .tif .tiff .zarr .h5).

Example: sxtseg segment tomo.mrc -o mask.mrc --probabilities prob.mrc
"""

from pathlib import Path

import typer

from sxtseg.cli._common import OVERWRITE, VOXEL_SIZE, parse_voxel_size

NAME = "segment"


def command(
    input: Path = typer.Argument(..., help="Tomogram (.mrc .rec .st .ali .tif .zarr .h5)."),
    output: Path = typer.Option(..., "-o", "--output", help="Mask to write (uint8 0/1)."),
    probabilities: Path | None = typer.Option(
        None, "--probabilities", "-p", help="Also write the membrane probability volume."
    ),
    model: str = typer.Option(
        "default", "--model", "-m", help="'default' (bundled weights) or a model folder."
    ),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        "-t",
        help="Mask threshold on the [0, 1] probability (default: the model's, else 0.9).",
    ),
    device: str | None = typer.Option(None, "--device", help="auto, cpu or cuda[:N]."),
    tta: bool | None = typer.Option(
        None, "--tta/--no-tta", help="Average the 8 flips/rotations of each slice (8x time)."
    ),
    axes: str | None = typer.Option(
        None, "--axes", help="Planes to predict on: xy, xz, yz or all (mean of the three)."
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", "-b", help="Slices or tiles per forward pass (default: from memory)."
    ),
    tile: int | None = typer.Option(
        None, "--tile", help="Tile edge in px (default: whole slices when they fit)."
    ),
    overlap: float | None = typer.Option(
        None, "--overlap", help="Fraction of a tile shared with its neighbours (default 0.25)."
    ),
    voxel_size: str | None = VOXEL_SIZE,
    rescale: bool | None = typer.Option(
        None,
        "--rescale/--no-rescale",
        help="Resample slices to the model's pixel size and back (default: on).",
    ),
    prob_dtype: str | None = typer.Option(
        None, "--prob-dtype", help="Probability storage: float16 (default), float32 or uint8."
    ),
    amp: str | None = typer.Option(
        None, "--amp", help="Mixed precision on CUDA: auto, bf16, fp16 or off."
    ),
    compile_model: bool | None = typer.Option(
        None, "--compile/--no-compile", help="torch.compile the network (CUDA; slow start)."
    ),
    threads: int | None = typer.Option(
        None, "--threads", help="CPU threads (default: OMP_NUM_THREADS, else the physical cores)."
    ),
    backend: str | None = typer.Option(
        None,
        "--backend",
        help="Run the network with torch (default), onnx (ONNX Runtime on the CPU; the 'onnx' "
        "extra), openvino (the 'openvino' extra) or auto (onnx on the CPU when installed).",
    ),
    min_volume: float | None = typer.Option(
        None, "--min-volume", help="Remove objects smaller than this volume in nm^3."
    ),
    border: float | None = typer.Option(
        None, "--border", help="Clear a band of this width in nm along every face."
    ),
    opening: float | None = typer.Option(None, "--opening", help="Opening radius in nm."),
    closing: float | None = typer.Option(None, "--closing", help="Closing radius in nm."),
    erosion: float | None = typer.Option(None, "--erosion", help="Erosion radius in nm."),
    cell_mask: bool | None = typer.Option(
        None,
        "--cell-mask/--no-cell-mask",
        help="Keep only the dense connected region of the specimen (suppresses ice/buffer).",
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML with 'segment:' and/or 'postprocess:' settings."
    ),
    scratch_dir: Path | None = typer.Option(
        None, "--scratch-dir", help="Folder for temporary volumes (--axes, post-processing)."
    ),
    overwrite: bool = OVERWRITE,
) -> int:
    import logging
    import signal
    import threading

    from tqdm import tqdm

    from sxtseg.config import from_mapping, load_yaml
    from sxtseg.errors import InputError
    from sxtseg.infer import SegmentConfig, segment_file
    from sxtseg.infer.volume import UNTRAINED_WARNING, resolve_model
    from sxtseg.postprocess import PostprocessConfig

    seg_values: dict = {}
    pp_values: dict = {}
    if config is not None:
        doc = load_yaml(config)
        unknown = sorted(set(doc) - {"segment", "postprocess"})
        if unknown:
            raise InputError(f"{config}: unknown section(s) {', '.join(unknown)}")
        seg_values = dict(doc.get("segment") or {})
        pp_values = dict(doc.get("postprocess") or {})
    cfg = from_mapping(
        SegmentConfig, seg_values, threshold=threshold, device=device, tta=tta, axes=axes,
        batch_size=batch_size, tile=tile, overlap=overlap, prob_dtype=prob_dtype, amp=amp,
        compile=compile_model, num_threads=threads, rescale=rescale, backend=backend,
        scratch_dir=None if scratch_dir is None else str(scratch_dir),
    )  # fmt: skip
    pp_cfg = from_mapping(
        PostprocessConfig, pp_values, min_volume_nm3=min_volume, border_nm=border,
        opening_nm=opening, closing_nm=closing, erosion_nm=erosion, cell_mask=cell_mask,
    )  # fmt: skip
    if model != "default" and not Path(model).exists():
        raise InputError(f"--model {model}: no such model folder")
    logging.getLogger("sxtseg.infer.volume").setLevel(logging.ERROR)  # we print it ourselves
    resolved = resolve_model(model)
    if not resolved.trained:
        typer.echo("WARNING: " + UNTRAINED_WARNING.format(source=resolved.source), err=True)

    # SIGTERM (batch schedulers) unwinds like Ctrl-C, so no partial output is left behind.
    previous = None
    if threading.current_thread() is threading.main_thread():

        def _terminate(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, _terminate)
    bar: tqdm | None = None

    def progress(advance: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="plane", desc="segment", disable=None)
        bar.update(advance)

    try:
        result = segment_file(
            input, output, prob_path=probabilities, model=resolved, config=cfg,
            postprocess_config=pp_cfg, voxel_size=parse_voxel_size(voxel_size),
            overwrite=overwrite, progress=progress,
        )  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    vs = result.voxel_size
    vs_text = "unknown" if vs is None else "{:g} x {:g} x {:g} nm".format(*vs)
    typer.echo(
        f"wrote {result.mask_path}"
        + (f" and {result.prob_path}" if result.prob_path else "")
        + f": {result.shape[0]}x{result.shape[1]}x{result.shape[2]} voxels of {vs_text}, "
        f"{100 * result.foreground_fraction:.2f}% membrane, {result.slices_per_second:.2f} "
        f"slices/s on {result.device} ({result.plan}), threshold {result.threshold:g}"
        + ("" if result.zoom is None else ", zoom {:.3g} x {:.3g}".format(*result.zoom))
    )
    return 0
