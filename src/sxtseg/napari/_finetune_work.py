"""Fine-tuning on labels painted in napari, free of napari and Qt.

Painted labels follow the widget's convention: 1 = membrane, 2 = background,
0 = not painted. They are written in sxtseg's training layout (a folder with
``tomogram.mrc`` and ``membranes.mrc``: 1 membrane, 0 background, 255 =
unlabelled, so unpainted pixels are left out of the loss and unpainted slices
out of the labelled set) and :func:`sxtseg.train.train` continues from the
current model (``TrainConfig.init``) on them plus the whole tomogram as
unlabelled data, for a number of minutes (or steps). The tomogram is then
segmented again with the new model.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.errors import InputError
from sxtseg.napari._work import SegmentOutput, segment_volume
from sxtseg.types import Spacing

__all__ = [
    "BACKGROUND",
    "MEMBRANE",
    "FinetuneOutput",
    "finetune_volume",
    "next_model_dir",
    "training_labels",
    "write_training_folder",
]

log = logging.getLogger(__name__)

#: Painted label values (napari Labels layer).
MEMBRANE, BACKGROUND = 1, 2
#: Unlabelled value of sxtseg's training data (``TrainConfig.ignore_value``).
UNLABELLED = 255

Report = Callable[..., None]


def _no_report(done: float, total: float, text: str = "") -> None:
    return None


def training_labels(painted: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Painted labels (1 membrane, 2 background, 0 none) -> training labels (1, 0, 255).

    Parameters
    ----------
    painted : ndarray of int, shape (Z, Y, X)

    Returns
    -------
    (ndarray of uint8, list of int)
        The labels and the Z slices that hold any painted pixel.

    Raises
    ------
    InputError
        Nothing painted, no membrane painted, or other label values.
    """
    arr = np.asarray(painted)
    values = set(np.unique(arr).tolist())
    if values - {0, MEMBRANE, BACKGROUND}:
        extra = sorted(values - {0, MEMBRANE, BACKGROUND})
        raise InputError(f"paint with 1 (membrane) and 2 (background) only; found {extra}")
    if MEMBRANE not in values:
        raise InputError("paint some membrane (label 1) on a few slices first")
    out = np.full(arr.shape, UNLABELLED, dtype=np.uint8)
    out[arr == MEMBRANE] = 1
    out[arr == BACKGROUND] = 0
    slices = np.flatnonzero((arr != 0).reshape(arr.shape[0], -1).any(axis=1)).tolist()
    return out, [int(z) for z in slices]


def write_training_folder(
    folder: str | Path, tomogram: Any, labels: np.ndarray, *, voxel_size: Spacing | None
) -> Path:
    """Write ``tomogram.mrc`` and ``membranes.mrc`` (1/0/255) with the voxel size.

    Returns
    -------
    Path
        ``folder``.
    """
    from sxtseg.io import write_volume
    from sxtseg.types import Volume

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    data = np.asarray(tomogram)
    if data.dtype == np.float64 or data.dtype.kind == "b":
        data = data.astype(np.float32)
    write_volume(out / "tomogram.mrc", Volume(data, voxel_size), overwrite=True)
    write_volume(out / "membranes.mrc", Volume(labels, voxel_size), overwrite=True)
    return out


def next_model_dir(base: str | Path | None) -> Path:
    """A fresh ``round_NN`` folder under ``base`` (a new temporary folder when None)."""
    root = Path(base) if base else Path(tempfile.mkdtemp(prefix="sxtseg-finetune-"))
    root.mkdir(parents=True, exist_ok=True)
    n = 1
    while (root / f"round_{n:02d}").exists():
        n += 1
    return root / f"round_{n:02d}"


@dataclass
class FinetuneOutput:
    """What :func:`finetune_volume` returns.

    Attributes
    ----------
    model_dir : Path
        The fine-tuned model folder.
    steps : int
        Optimiser steps run.
    slices : list of int
        The painted Z slices used as labelled data.
    segmentation : SegmentOutput
        The tomogram segmented with the new model.
    """

    model_dir: Path
    steps: int
    slices: list[int]
    segmentation: SegmentOutput


def finetune_volume(
    tomogram: Any,
    painted: Any,
    *,
    voxel_size: Spacing | None,
    model: str = "default",
    minutes: float = 2.0,
    max_steps: int | None = None,
    out_dir: str | Path | None = None,
    segment: Any = None,
    report: Report = _no_report,
    **train_options: Any,
) -> FinetuneOutput:
    """Fine-tune ``model`` on painted slices, then segment the tomogram with the result.

    Parameters
    ----------
    tomogram : array-like, shape (Z, Y, X)
    painted : array-like of int, shape (Z, Y, X)
        1 = membrane, 2 = background, 0 = not painted.
    voxel_size : (z, y, x) nm or None
        Needed when the model records a pixel size.
    model : str
        "default" (the bundled model) or a model folder to start from.
    minutes : float
        Training time.
    max_steps : int, optional
        Stop after this many optimiser steps (whichever comes first).
    out_dir : str or Path, optional
        The new model folder (default: a fresh temporary ``round_NN`` folder).
    segment : SegmentConfig, optional
        Settings of the new segmentation (threshold None: the new model's,
        which keeps the threshold of ``model``).
    report : callable(done, total, text)
    **train_options
        Further :class:`~sxtseg.train.TrainConfig` fields (crop, batch_size,
        lr, threads, device, seed...).

    Returns
    -------
    FinetuneOutput
    """
    from sxtseg.infer import SegmentConfig, resolve_model
    from sxtseg.train import TrainConfig, train

    image = np.asarray(tomogram)
    labels, slices = training_labels(np.asarray(painted))
    if labels.shape != image.shape:
        raise InputError(f"the labels {labels.shape} and the tomogram {image.shape} differ")
    report(0, 1, f"{len(slices)} painted slices")
    target = Path(out_dir) if out_dir else next_model_dir(None)
    previous = resolve_model(model)
    threshold = previous.threshold if previous.threshold is not None else 0.9
    threshold = min(max(threshold, 0.01), 0.99)
    with tempfile.TemporaryDirectory(prefix="sxtseg-paint-") as tmp:
        folder = write_training_folder(Path(tmp) / "painted", image, labels,
                                       voxel_size=voxel_size)  # fmt: skip
        options: dict[str, Any] = {
            "init": str(model), "epochs": 1_000_000, "max_minutes": float(minutes),
            "max_steps": int(max_steps) if max_steps else None, "steps_per_epoch": 20,
            "val_fraction": 0.0, "patience": None, "calibrate": False,
            "threshold": threshold, "crop": 256, "batch_size": 4,
        }  # fmt: skip
        options.update(train_options)
        config = TrainConfig(**options)
        t0 = time.monotonic()
        seconds = 60.0 * float(minutes)

        def progress(p: Any) -> None:
            done, total = float(p.step), float(config.max_steps or 0)
            if not config.max_steps:
                done, total = time.monotonic() - t0, seconds
            frac = min(1.0, done / max(total, 1e-9))
            report(frac, 1.1, f"step {p.step}, loss {p.loss_labeled:.3f}")

        result = train([folder], [folder / "tomogram.mrc"], target, config=config,
                       progress=progress, overwrite=True, voxel_size=voxel_size)  # fmt: skip
    log.info("fine-tuned %s for %d steps on %d slices -> %s", model, result.steps, len(slices),
             target)  # fmt: skip
    seg_cfg = segment or SegmentConfig()

    def seg_report(done: float, total: float, text: str = "") -> None:
        report(1.0 + 0.1 * done / max(total, 1e-9), 1.1, f"segmenting: {text}")

    seg = segment_volume(image, voxel_size=voxel_size, model=str(target),
                         config=dataclasses.replace(seg_cfg), report=seg_report)  # fmt: skip
    return FinetuneOutput(target, int(result.steps), slices, seg)
