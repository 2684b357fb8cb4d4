"""Segmentation from Python: :func:`segment` and its result :class:`Segmentation`.

Part of the notebook front door (:mod:`sxtseg.api`), re-exported as
``sxtseg.segment``. Importing this module is cheap; :func:`segment` imports
torch when called.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sxtseg.errors import InputError
from sxtseg.types import Spacing, Volume, check_spacing

if TYPE_CHECKING:  # pragma: no cover
    from sxtseg.postprocess.config import PostprocessConfig

__all__ = ["Segmentation", "SpacingLike", "segment"]

#: A voxel size in nm: one number (isotropic) or (z, y, x).
SpacingLike = float | Sequence[float]


@dataclass(frozen=True, eq=False)
class Segmentation:
    """What :func:`segment` returns.

    Attributes
    ----------
    probabilities : ndarray of float32, shape (Z, Y, X)
        Membrane probability in [0, 1] on the input grid.
    mask : ndarray of bool, shape (Z, Y, X)
        ``probabilities >= threshold``, post-processed when asked.
    spacing : (z, y, x) floats in nm, or None
        The voxel size used (None when none was given and none was needed).
    threshold : float
        The mask threshold used (given, else the model's calibrated one).
    model : str
        Where the model came from ("default", a folder, "<module>").
    """

    probabilities: np.ndarray
    mask: np.ndarray
    spacing: Spacing | None
    threshold: float
    model: str = "default"


def unpack_input(data: Any, spacing: SpacingLike | None) -> tuple[Any, Spacing | None]:
    """(array, spacing): a Volume or Segmentation brings its own voxel size."""
    own: Spacing | None = None
    if isinstance(data, Segmentation):
        data, own = data.mask, data.spacing
    elif isinstance(data, Volume):
        data, own = data.data, data.voxel_size
    chosen = spacing if spacing is not None else own
    return data, None if chosen is None else check_spacing(chosen, name="spacing")


def require_spacing(spacing: Spacing | None, what: str) -> Spacing:
    if spacing is None:
        raise InputError(f"{what} needs the voxel size: pass spacing=NM (or a Volume that has one)")
    return spacing


def _run_postprocess(postprocess: bool | PostprocessConfig) -> PostprocessConfig:
    """``True``: the post-processing of ``sxtseg run`` (``RunConfig``'s); ``False``: none."""
    from sxtseg.postprocess.config import PostprocessConfig

    if isinstance(postprocess, PostprocessConfig):
        return postprocess
    if postprocess:
        from sxtseg.pipeline import RunConfig

        return RunConfig().postprocess
    return PostprocessConfig()


def segment(
    volume: np.ndarray | Volume,
    *,
    spacing: SpacingLike | None = None,
    model: Any = "default",
    threshold: float | None = None,
    rescale: bool = True,
    tta: bool = False,
    axes: str = "xy",
    device: str = "auto",
    postprocess: bool | PostprocessConfig = True,
) -> Segmentation:
    """Membrane probabilities and mask of a tomogram held in memory.

    Parameters
    ----------
    volume : ndarray or Volume, shape (Z, Y, X)
        Tomogram, any real dtype, finite values.
    spacing : float or (z, y, x), optional
        Voxel size in nm (wins over a Volume's). Required when the model
        records the pixel size it works at and ``rescale`` is on, and for
        post-processing in nm.
    model : "default", model folder, LoadedModel or nn.Module
        The bundled model, a folder written by ``sxtseg train`` or
        :func:`sxtseg.train_model`, or what :func:`sxtseg.load_model` returned.
    threshold : float, optional
        Mask threshold on [0, 1]; default: the model's calibrated one.
    rescale : bool
        Resample each slice to the model's pixel size and back.
    tta : bool
        Average the 8 flips/rotations of each slice (8x the compute).
    axes : {"xy", "xz", "yz", "all"}
        Plane direction(s) the network runs on; "all" averages the three.
    device : str
        "auto", "cpu", "cuda" or "cuda:N".
    postprocess : bool or PostprocessConfig
        ``True``: the clean-up of ``sxtseg run`` (objects smaller than
        ``RunConfig().postprocess.min_volume_nm3`` removed); ``False``: the raw
        thresholded mask; or a :class:`~sxtseg.postprocess.PostprocessConfig`.

    Returns
    -------
    Segmentation
        ``probabilities`` float32 and ``mask`` bool, both (Z, Y, X), with the
        spacing and threshold used.

    Raises
    ------
    InputError
        Not a finite real 3D volume, a bad option, or no spacing where one is needed.

    Examples
    --------
    A spherical shell (a membrane) in a noisy 8 x 64 x 64 volume, 10 nm voxels:

    >>> import numpy as np
    >>> import sxtseg
    >>> z, y, x = np.mgrid[:8, :64, :64]
    >>> r = np.sqrt((2 * (z - 4)) ** 2 + (y - 32) ** 2 + (x - 32) ** 2)
    >>> noise = np.random.default_rng(0).normal(0, 0.2, r.shape)
    >>> tomogram = (np.abs(r - 20) < 1.5) + noise
    >>> seg = sxtseg.segment(sxtseg.Volume(tomogram, (10.0, 10.0, 10.0)), device="cpu")
    >>> seg.mask.shape, seg.mask.dtype, seg.probabilities.dtype
    ((8, 64, 64), dtype('bool'), dtype('float32'))
    >>> seg.spacing, 0.0 < seg.threshold < 1.0
    ((10.0, 10.0, 10.0), True)
    >>> raw = sxtseg.segment(tomogram, spacing=10.0, device="cpu", postprocess=False)
    >>> bool(np.array_equal(raw.mask, raw.probabilities >= raw.threshold))
    True
    """
    from sxtseg.infer import SegmentConfig, resolve_model, segment_array
    from sxtseg.postprocess import postprocess as clean

    data, sp = unpack_input(volume, spacing)
    cfg = SegmentConfig(threshold=threshold, rescale=rescale, tta=tta, axes=axes, device=device)
    pp = _run_postprocess(postprocess)
    res = resolve_model(model)
    if sp is None and rescale and res.pixel_size_nm is not None:
        raise InputError(
            f"the model works at {res.pixel_size_nm:g} nm/px and the volume has no voxel size: "
            "pass spacing=NM (or rescale=False to use the voxels as they are)"
        )
    if sp is None and pp.enabled:
        raise InputError(
            "post-processing works in nm and needs the voxel size: pass spacing=NM "
            "(or postprocess=False)"
        )
    prob = segment_array(data, res, config=cfg, voxel_size=sp)
    used = cfg.threshold_for(res.threshold)
    mask = prob >= used
    if pp.enabled:
        assert sp is not None
        tomo = np.asarray(data) if pp.cell_mask else None
        mask = clean(mask, spacing=sp, config=pp, tomogram=tomo)
    return Segmentation(prob, mask, sp, used, res.source)
