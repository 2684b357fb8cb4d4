"""Train the two-headed network on labelled and unlabelled tomograms.

--labeled takes folders with tomogram.* + membranes.* (the simulator's layout),
folders of such folders, or TIFF slice pairs X.tif + X.labels.tif; label value
255 marks unlabelled pixels, so a few labelled slices of a tomogram work as
they are. --unlabeled takes tomograms. MODEL_DIR receives the best model
(model.safetensors + config.json, with the calibrated mask threshold and the
pixel size), metrics.csv, training_curves.png and last/ (for --resume).

\b
Examples. From scratch:
  sxtseg train --labeled sim/lab --unlabeled sim/unl --preset tiny -o model --epochs 2
Fine-tune the bundled model on your own sparse labels (255 elsewhere):
  sxtseg train --init default --labeled my_labels/ --unlabeled my_tomo.mrc \\
      -o my_model --max-minutes 20
  sxtseg run tomo.mrc -o out --model my_model
"""

from pathlib import Path
from typing import Any

import typer

from sxtseg.cli._common import VOXEL_SIZE

NAME = "train"
#: Options that take several space-separated values (see cli._common).
MULTI_VALUE_OPTIONS = ("--labeled", "--unlabeled", "--val")


def command(
    labeled: list[Path] = typer.Option(..., "--labeled", help="Folder(s) of tomogram + mask."),
    unlabeled: list[Path] = typer.Option([], "--unlabeled", help="Tomogram folder(s) or files."),
    preset: str = typer.Option(
        None, "--preset", help="tiny, small, base or paper (default: small, or the --init model's)."
    ),
    init: str = typer.Option(
        None, "--init", help="Fine-tune: start from 'default' (bundled) or a model folder."
    ),
    val: list[Path] = typer.Option(
        [], "--val", help="Labelled tomogram(s) for validation only (default: a split)."
    ),
    loss: str = typer.Option(
        None, "--loss", help="bce_dice (default: logits head) or paper (tanh + Huber)."
    ),
    dice_weight: float = typer.Option(
        None, "--dice-weight", help="Weight of the soft-Dice term of bce_dice (default 1)."
    ),
    pixel_size: float = typer.Option(
        None, "--pixel-size", help="Pixel size (nm) to train at (default: the --init model's)."
    ),
    scale_jitter: float = typer.Option(
        None, "--scale-jitter", help="Random zoom of +- this fraction (default 0.15)."
    ),
    select_by: str = typer.Option(
        None, "--select-by", help="Keep the epoch with the best boundary_f1 (default) or loss."
    ),
    no_calibrate: bool = typer.Option(
        False, "--no-calibrate", help="Store --threshold as is, not one chosen on validation."
    ),
    voxel_size: str | None = VOXEL_SIZE,
    output: Path = typer.Option(..., "-o", "--output", help="Model folder to write."),
    epochs: int = typer.Option(None, "--epochs", help="Total epochs (default: 50)."),
    max_steps: int = typer.Option(None, "--max-steps", help="Stop after this many steps."),
    max_minutes: float = typer.Option(
        None, "--max-minutes", help="Stop after this many minutes (then validate and save)."
    ),
    steps_per_epoch: int = typer.Option(
        None, "--steps-per-epoch", help="Labelled steps per epoch (default: 6 passes)."
    ),
    crop: int = typer.Option(None, "--crop", help="Training crop side in px (default: 256)."),
    batch_size: int = typer.Option(None, "--batch-size", help="Crops per step (default: 4)."),
    lr: float = typer.Option(
        None, "--lr", help="Adam learning rate (1e-3 tiny/small, 1e-4 base/paper)."
    ),
    cosine: bool = typer.Option(False, "--cosine", help="Cosine learning-rate decay."),
    unlabeled_ratio: float = typer.Option(
        None, "--unlabeled-ratio", help="Unlabelled steps per labelled step (default: 1)."
    ),
    alternation: str = typer.Option(None, "--alternation", help="step or epoch (default: step)."),
    pos_weight: float = typer.Option(
        None, "--pos-weight", help="Weight of membrane pixels in the label loss (default 1)."
    ),
    supervised_only: bool = typer.Option(
        False, "--supervised-only", help="Ablation: label path only, no unlabelled data."
    ),
    val_fraction: float = typer.Option(None, "--val-fraction", help="Held-out share (0.1)."),
    val_split: str = typer.Option(None, "--val-split", help="auto, tomogram or slice."),
    patience: int = typer.Option(None, "--patience", help="Early-stopping patience (default: 20)."),
    ignore_value: str = typer.Option(
        None, "--ignore-value", help="Label value of unlabelled pixels, or 'none' (default: 255)."
    ),
    no_invert: bool = typer.Option(False, "--no-invert", help="No polarity augmentation."),
    device: str = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N (default: auto)."),
    workers: int = typer.Option(None, "--workers", help="DataLoader workers (0 CPU, 4 GPU)."),
    threads: int = typer.Option(None, "--threads", help="CPU threads (default: idle cores)."),
    seed: int = typer.Option(None, "--seed", help="Random seed (default: 0)."),
    config_file: Path = typer.Option(None, "--config", help="YAML file of TrainConfig fields."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in MODEL_DIR."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start afresh in MODEL_DIR."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> int:
    from tqdm import tqdm

    from sxtseg.api_train import slice_segmenter
    from sxtseg.cli._common import parse_voxel_size
    from sxtseg.config import from_mapping, load_yaml
    from sxtseg.errors import InputError
    from sxtseg.train.config import TrainConfig
    from sxtseg.train.loop import TrainProgress, train

    base: dict[str, Any] = load_yaml(config_file) if config_file else {}
    if ignore_value is not None:
        if ignore_value.lower() == "none":
            base["ignore_value"] = None
        elif ignore_value.isdigit():
            base["ignore_value"] = int(ignore_value)
        else:
            raise InputError(f"--ignore-value: expected an integer or 'none', got {ignore_value!r}")
    config = from_mapping(
        TrainConfig, base, preset=preset, epochs=epochs, max_steps=max_steps,
        max_minutes=max_minutes, steps_per_epoch=steps_per_epoch, crop=crop,
        batch_size=batch_size, lr=lr,
        schedule="cosine" if cosine else None, unlabeled_ratio=unlabeled_ratio,
        alternation=alternation, supervised_only=supervised_only or None, pos_weight=pos_weight,
        val_fraction=val_fraction, val_split=val_split, patience=patience,
        invert_prob=0.0 if no_invert else None, device=device, num_workers=workers,
        threads=threads, seed=seed, init=init, loss=loss, dice_weight=dice_weight,
        pixel_size_nm=pixel_size, scale_jitter=scale_jitter, select_by=select_by,
        calibrate=False if no_calibrate else None,
    )  # fmt: skip
    bar: Any = None

    def progress(p: TrainProgress) -> None:
        nonlocal bar
        if quiet:
            return
        if bar is None:
            bar = tqdm(total=p.total_steps, initial=p.step - 1, unit="step", dynamic_ncols=True)
        if p.kind == "epoch":
            assert p.val is not None
            tqdm.write(
                f"epoch {p.epoch}/{p.epochs}: val loss {p.val.loss:.4f}  "
                f"boundary F1 {p.val.boundary_f1:.3f} (threshold {p.val.threshold:.2f})  "
                f"F1 {p.val.f1:.3f}  precision {p.val.precision:.3f}  "
                f"recall {p.val.recall:.3f}  image acc {p.val.image_accuracy:.3f}"
            )
            return
        bar.update(p.step - bar.n)
        bar.set_postfix(epoch=p.epoch, lab=f"{p.loss_labeled:.4f}", unl=f"{p.loss_unlabeled:.4f}")

    try:
        result = train(labeled, unlabeled, output, config=config, resume=resume,
                       overwrite=overwrite, progress=progress, validation=val or None,
                       voxel_size=parse_voxel_size(voxel_size),
                       segment=slice_segmenter(config.device))  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
    best, untrained = result.best, result.untrained
    typer.echo(
        f"{result.model_dir}: {result.steps} steps, {result.epochs} epochs, best epoch "
        f"{result.best_epoch}: val boundary F1 {best.boundary_f1:.3f} at threshold "
        f"{best.threshold:.2f} (untrained {untrained.boundary_f1:.3f}), "
        f"val F1 {best.f1:.3f} (untrained {untrained.f1:.3f}), "
        f"precision {best.precision:.3f}, image accuracy {best.image_accuracy:.3f}"
        + (" [stopped early]" if result.stopped_early else "")
    )
    if result.input_grid is not None:
        typer.echo(
            f"mask threshold {result.input_grid.threshold:.2f}, chosen on whole validation "
            f"slices on their own grid (visible boundary-F1 {result.input_grid.score:.3f})"
        )
    return 0
