"""Training and loading models from Python: :func:`train_model`, :func:`load_model`.

Part of the notebook front door (:mod:`sxtseg.api`), re-exported as
``sxtseg.train_model`` and ``sxtseg.load_model``. Importing this module is
cheap; the functions import torch when called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from sxtseg.api_segment import SpacingLike
    from sxtseg.model.checkpoint import LoadedModel
    from sxtseg.train.config import TrainConfig
    from sxtseg.train.loop import TrainProgress, TrainResult

__all__ = ["load_model", "slice_segmenter", "train_model"]

PathLike = str | Path


def _paths(value: PathLike | Sequence[PathLike] | None) -> list[PathLike]:
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [value]
    return list(value)


def train_model(
    labeled: PathLike | Sequence[PathLike],
    out_dir: PathLike,
    *,
    unlabeled: PathLike | Sequence[PathLike] | None = None,
    validation: PathLike | Sequence[PathLike] | None = None,
    spacing: SpacingLike | None = None,
    config: TrainConfig | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[TrainProgress], None] | None = None,
    **options: Any,
) -> TrainResult:
    """Train a network (semisupervised) and keep the best epoch in a model folder.

    The same as ``sxtseg train``; the folder is used with
    ``sxtseg.segment(..., model=out_dir)`` or ``sxtseg run --model OUT_DIR``.

    Parameters
    ----------
    labeled : path or list of paths
        Folders holding a tomogram and its labels (``tomogram.*`` +
        ``labels.*``, ``membranes.*`` or ``mask.*``; 1 = membrane, 0 =
        background, 255 = not labelled), folders of such folders, or TIFF
        slice pairs.
    out_dir : path
        Model folder to write: ``model.safetensors`` + ``config.json`` (the
        best epoch, its calibrated mask threshold and pixel size in nm),
        ``metrics.csv``, ``training_curves.png`` and ``last/`` (to resume).
    unlabeled : path or list of paths, optional
        Tomograms without labels for the image-reconstruction path.
    validation : path or list of paths, optional
        Labelled tomograms used for validation only (default: a held-out
        share of ``labeled``).
    spacing : float or (z, y, x), optional
        Voxel size in nm for data whose header has none.
    config : TrainConfig, optional
        Every training setting (:class:`sxtseg.train.TrainConfig`, the one
        place the defaults live).
    resume : bool
        Continue from ``out_dir/last``.
    overwrite : bool
        Start afresh even if ``out_dir`` already holds a model.
    progress : callable, optional
        Called with a ``TrainProgress`` after each step and each epoch.
    **options
        Any :class:`~sxtseg.train.TrainConfig` field, winning over ``config``:
        ``preset="small"``, ``epochs=20``, ``init="default"`` (fine-tune the
        bundled model), ``max_minutes=20``, ``device="cuda"``, ...

    Returns
    -------
    TrainResult
        ``model_dir``, steps and epochs done, best epoch and its validation
        scores, the per-epoch history.

    Raises
    ------
    TypeError
        An option that is not a ``TrainConfig`` field.
    InputError
        Bad data or settings, or ``out_dir`` already holds a model.

    Examples
    --------
    Two optimiser steps of the tiny network on one labelled synthetic tomogram:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> import sxtseg
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = Path(tmp.name)
    >>> (folder / "lab").mkdir()
    >>> z, y, x = np.mgrid[:6, :64, :64]
    >>> r = np.sqrt((3 * (z - 3)) ** 2 + (y - 32) ** 2 + (x - 32) ** 2)
    >>> membrane = (np.abs(r - 18) < 1.5).astype(np.uint8)
    >>> tomogram = membrane + np.random.default_rng(0).normal(0, 0.3, r.shape)
    >>> _ = sxtseg.write_volume(folder / "lab" / "tomogram.mrc",
    ...                         sxtseg.Volume(tomogram.astype(np.float32), (10.0, 10.0, 10.0)))
    >>> _ = sxtseg.write_volume(folder / "lab" / "labels.mrc",
    ...                         sxtseg.Volume(membrane, (10.0, 10.0, 10.0)))
    >>> result = sxtseg.train_model(folder / "lab", folder / "model", preset="tiny",
    ...                             max_steps=2, crop=32, batch_size=2, device="cpu")
    >>> result.steps, (result.model_dir / "model.safetensors").is_file()
    (2, True)
    >>> sxtseg.load_model(result.model_dir).meta["trained"]
    True
    >>> tmp.cleanup()
    """
    from sxtseg.train.config import TrainConfig
    from sxtseg.train.loop import train

    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(options) - names)
    if unknown:
        raise TypeError(f"train_model() got unknown option(s) {', '.join(unknown)}; "
                        "options are the fields of sxtseg.train.TrainConfig")  # fmt: skip
    cfg = replace(config or TrainConfig(), **options)
    return train(
        _paths(labeled), _paths(unlabeled), out_dir, config=cfg, resume=resume,
        overwrite=overwrite, progress=progress, validation=_paths(validation) or None,
        voxel_size=None if spacing is None else _spacing(spacing),
        segment=slice_segmenter(cfg.device),
    )  # fmt: skip


def slice_segmenter(device: str) -> Any:
    """The ``segment`` callable of :func:`sxtseg.train.loop.train`: ``sxtseg segment``'s path.

    Returns ``f(model_dir, image, voxel_size) -> probabilities`` for a stack
    of slices (N, Y, X) with voxel size (z, y, x) nm, resampled to the model's
    pixel size and back exactly as ``segment`` does (no post-processing).
    """

    def segment(model_dir: Path, image: Any, voxel_size: tuple[float, float, float]) -> Any:
        from sxtseg.infer import SegmentConfig, segment_array

        config = SegmentConfig(device=device, threshold=0.5)
        return segment_array(image, str(model_dir), config=config, voxel_size=voxel_size)

    return segment


def _spacing(value: SpacingLike) -> tuple[float, float, float]:
    from sxtseg.types import check_spacing

    return check_spacing(value, name="spacing")


def load_model(
    source: PathLike = "default", *, device: str = "cpu", verify: bool = True
) -> LoadedModel:
    """Load a model folder (or ``"default"``, the bundled model) for inference.

    Parameters
    ----------
    source : "default" or path
        A folder holding ``model.safetensors`` + ``config.json``.
    device : str
        "cpu", "cuda", "cuda:N", ...
    verify : bool
        Check the weights' SHA-256 against ``config.json``.

    Returns
    -------
    LoadedModel
        ``model`` (the network, eval mode), ``config`` (its architecture),
        ``meta`` (``trained``, ``threshold``, ``pixel_size_nm``,
        ``normalization``, training summary) and ``path``. Pass it as
        ``sxtseg.segment(..., model=loaded)`` to segment many volumes
        without reloading.

    Raises
    ------
    InputError
        Missing, corrupt or inconsistent files.

    Examples
    --------
    >>> import sxtseg
    >>> loaded = sxtseg.load_model()
    >>> loaded.meta["trained"], loaded.path.name
    (True, 'default')
    """
    from sxtseg.model.checkpoint import load_model as _load

    return _load(source, device=device, verify=verify)
