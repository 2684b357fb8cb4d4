"""Segment a tomogram file into a mask file (and a probability file), streamed.

Memory
------
``axes="xy"`` (the default) streams: slabs of ``batch`` slices are read
lazily (memory-mapped MRC, chunked Zarr/HDF5, TIFF pages), normalised,
predicted and written to streaming writers. Peak memory is a few slabs plus
the network's activations, independent of the number of slices.

``axes`` "xz", "yz" or "all" need whole planes across Z. They use two
temporary memory-mapped float32 volumes on disk (``scratch_dir``, default
next to the mask): a copy of the input and the summed probabilities (8 bytes
per voxel of scratch disk). Each plane direction is then processed in slabs
of planes cut from the memory map, and a final pass streams the mean into
the writers. RAM stays bounded by a slab of planes; the disk holds the rest.

Post-processing needs the whole mask (connected components): the raw mask
goes to a temporary memory map (1 byte per voxel), is cleaned in RAM (about
5 bytes per voxel for the labelling) and then written.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sxtseg.errors import InputError
from sxtseg.infer.config import SegmentConfig
from sxtseg.infer.devices import cpu_count
from sxtseg.infer.predict import Predictor
from sxtseg.infer.rescale import PlaneScale, model_pixel_size, plane_scale, rescaled
from sxtseg.infer.stream import (
    Progress,
    normalize_parallel,
    release_pages,
    release_writer_pages,
    run_pipeline,
)
from sxtseg.infer.volume import PLANE_AXIS, resolve_model
from sxtseg.io import create_writer, open_volume
from sxtseg.io.base import VolumeReader, VolumeWriter, count_nonfinite
from sxtseg.io.files import create_memmap, remove_stale_temporaries, scratch_prefix
from sxtseg.postprocess import PostprocessConfig, postprocess
from sxtseg.types import Spacing, SpacingLike, check_spacing

__all__ = ["SegmentResult", "encode_probabilities", "segment_file"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentResult:
    """What :func:`segment_file` did.

    Attributes
    ----------
    mask_path, prob_path : Path, Path or None
    shape : (Z, Y, X)
    voxel_size : (z, y, x) nm or None
    device : str
    model_source : str
    model_trained : bool
    seconds : float
        Wall time of the whole call.
    slices_per_second : float
        Z slices segmented per second (all axes, TTA included).
    foreground_fraction : float
        Fraction of voxels in the final mask.
    plan : str
        "full slice" or the tile grid used for XY slices, with the batch size.
    postprocessed : bool
    threshold : float
        The mask threshold used (the config's, else the model's calibrated one).
    model_pixel_size_nm : float or None
        The model's pixel size (``meta["pixel_size_nm"]``).
    zoom : (float, float) or None
        (Y, X) zoom of the XY slices to the model's pixel size; None when not resampled.
    """

    mask_path: Path
    prob_path: Path | None
    shape: tuple[int, int, int]
    voxel_size: Spacing | None
    device: str
    model_source: str
    model_trained: bool
    seconds: float
    slices_per_second: float
    foreground_fraction: float
    plan: str
    postprocessed: bool
    threshold: float = 0.9
    model_pixel_size_nm: float | None = None
    zoom: tuple[float, float] | None = None


def encode_probabilities(prob: np.ndarray, dtype: str) -> np.ndarray:
    """Probabilities in [0, 1] as stored: float16, float32, or uint8 = round(255 p)."""
    if dtype == "uint8":
        return np.rint(np.clip(prob, 0.0, 1.0) * 255.0).astype(np.uint8)
    return prob.astype(np.dtype(dtype), copy=False)


def _cheap_lazy(reader: Any) -> Any:
    """``reader.lazy`` where a format overrides it (a memory map, a zarr array), else None."""
    if type(reader).lazy is VolumeReader.lazy:  # the default reads the whole volume
        return None
    return reader.lazy


def _slabs(reader: Any, step: int, *, copy_to: np.ndarray | None = None, invert: bool,
           normalise: bool = True, pool: ThreadPoolExecutor | None = None,
           ) -> Iterator[tuple[int, np.ndarray]]:  # fmt: skip
    """(z0, normalised slab) for the whole volume, checking for NaN/Inf."""
    nz = reader.shape[0]
    lazy = _cheap_lazy(reader)
    lazy = lazy if isinstance(lazy, np.memmap) else None
    for z0 in range(0, nz, step):
        z1 = min(nz, z0 + step)
        block = reader.read(z0, z1)
        if lazy is not None:
            release_pages(lazy)
        bad = count_nonfinite(block)
        if bad:
            raise InputError(f"{reader.path}: {bad} NaN/Inf values in slices {z0}-{z1 - 1}")
        if copy_to is not None:
            copy_to[z0:z1] = block
        if normalise:
            yield z0, normalize_parallel(block, invert=invert, pool=pool)
        elif copy_to is not None:
            release_pages(copy_to)


def _plane_slabs(raw: np.ndarray, axis: int, step: int, *, invert: bool,
                 pool: ThreadPoolExecutor | None = None,
                 ) -> Iterator[tuple[int, np.ndarray]]:  # fmt: skip
    n = raw.shape[axis]
    for i in range(0, n, step):
        idx: list[Any] = [slice(None)] * 3
        idx[axis] = slice(i, min(n, i + step))
        planes = np.moveaxis(np.asarray(raw[tuple(idx)], dtype=np.float32), axis, 0)
        release_pages(raw)
        yield i, normalize_parallel(planes, invert=invert, pool=pool)


class _Outputs:
    """Writes mask (and probability) slabs; counts foreground; or fills a scratch mask."""

    def __init__(self, mask_writer: Any, prob_writer: Any, *, threshold: float,
                 prob_dtype: str, scratch_mask: np.ndarray | None) -> None:  # fmt: skip
        self.mask_writer = mask_writer
        self.prob_writer = prob_writer
        self.threshold = threshold
        self.prob_dtype = prob_dtype
        self.scratch_mask = scratch_mask
        self.foreground = 0

    def __call__(self, z0: int, prob: np.ndarray) -> None:
        mask = (prob >= self.threshold).astype(np.uint8)
        if self.prob_writer is not None:
            self.prob_writer.write(z0, encode_probabilities(prob, self.prob_dtype))
            release_writer_pages(self.prob_writer)
        if self.scratch_mask is not None:
            self.scratch_mask[z0 : z0 + mask.shape[0]] = mask
            release_pages(self.scratch_mask)
        else:
            self.mask_writer.write(z0, mask)
            release_writer_pages(self.mask_writer)
            self.foreground += int(mask.sum())


def segment_file(
    input: str | Path,
    mask_path: str | Path,
    *,
    prob_path: str | Path | None = None,
    model: Any = "default",
    config: SegmentConfig | None = None,
    postprocess_config: PostprocessConfig | None = None,
    voxel_size: SpacingLike | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> SegmentResult:
    """Segment a tomogram file, streaming slabs from reader to writers.

    Parameters
    ----------
    input : path
        Tomogram (.mrc .rec .st .ali .tif .zarr .h5 ...), shape (Z, Y, X).
    mask_path : path
        Output mask, uint8 0/1, same shape, voxel size and origin as the input.
    prob_path : path, optional
        Output probabilities in [0, 1] (``config.prob_dtype``: float16, or uint8 × 255).
    model : "default", model folder, LoadedModel, ResolvedModel or nn.Module
    config : SegmentConfig, optional
        ``threshold=None`` takes the model's ``meta["threshold"]`` (0.9 when
        absent). With ``rescale`` on and a model that records
        ``meta["pixel_size_nm"]``, each plane is resampled to that pixel size
        and the probabilities back to the input grid (see
        :mod:`sxtseg.infer.rescale`).
    postprocess_config : PostprocessConfig, optional
        Mask clean-up in nm (needs the voxel size); default: none.
    voxel_size : float or (z, y, x), optional
        Override in nm for a missing or wrong header.
    overwrite : bool
        Replace existing outputs.
    progress : callable, optional
        ``progress(planes_done_now, total_planes)``.

    Returns
    -------
    SegmentResult

    Raises
    ------
    InputError
        Unreadable input, wrong number of axes, NaN/Inf values, existing
        outputs without ``overwrite``, post-processing without a voxel size,
        no voxel size for a model with a pixel size (and ``rescale`` on).
        Outputs appear whole or not at all.
    """
    t0 = time.perf_counter()
    cfg = config or SegmentConfig()
    pp = postprocess_config or PostprocessConfig()
    mask_path = Path(mask_path)
    prob_path = Path(prob_path) if prob_path is not None else None
    if prob_path is not None and prob_path.resolve() == mask_path.resolve():
        raise InputError("the mask and the probabilities must go to different files")
    with ExitStack() as stack:
        reader = stack.enter_context(open_volume(input, voxel_size=voxel_size))
        shape = reader.shape
        spacing = reader.voxel_size
        res = resolve_model(model)
        pixel_nm = model_pixel_size(res.pixel_size_nm, spacing, rescale=cfg.rescale,
                                    source=str(input))  # fmt: skip
        if spacing is None:
            if pp.enabled:
                raise InputError(f"{input} has no voxel size; post-processing in nm needs one: "
                                 "pass --voxel-size NM")  # fmt: skip
            log.warning("%s has no voxel size; the outputs will have none either", input)
        else:
            spacing = check_spacing(spacing)
        invert = res.invert if cfg.invert is None else cfg.invert
        threshold = cfg.threshold_for(res.threshold)
        log.info("mask threshold %g (%s)", threshold,
                 "given" if cfg.threshold is not None else "the model's")  # fmt: skip
        scales = {a: plane_scale(shape, spacing, PLANE_AXIS[a], pixel_nm) for a in cfg.plane_axes}
        predictor = Predictor(res.module, config=cfg)
        meta = {"labels": [f"sxtseg segment: membrane mask, p >= {threshold:g}"]}
        def writer(path: Path, dtype: np.dtype, metadata: dict[str, Any]) -> VolumeWriter:
            return create_writer(path, shape, dtype, metadata=metadata, voxel_size=spacing,
                                 origin=reader.origin, overwrite=overwrite)  # fmt: skip

        mask_writer = stack.enter_context(writer(mask_path, np.dtype(np.uint8), meta))
        prob_writer = None
        if prob_path is not None:
            pmeta = {"labels": ["sxtseg segment: membrane probability"
                                + (" x255" if cfg.prob_dtype == "uint8" else "")]}  # fmt: skip
            prob_writer = stack.enter_context(writer(prob_path, np.dtype(cfg.prob_dtype), pmeta))
        xy = scales["xy"] if "xy" in scales else plane_scale(shape, spacing, 0, pixel_nm)
        plan = predictor.plan(xy.target if xy is not None else (shape[1], shape[2]))
        step = cfg.batch_size or plan.batch_size
        axes = cfg.plane_axes
        need_scratch = axes != ("xy",) or pp.enabled
        tmp: Path | None = None
        if need_scratch:
            scratch = Path(cfg.scratch_dir) if cfg.scratch_dir else mask_path.parent
            remove_stale_temporaries(scratch)  # what a killed run left
            tmp = Path(stack.enter_context(
                tempfile.TemporaryDirectory(dir=scratch, prefix=scratch_prefix())))  # fmt: skip
        scratch_mask = None
        if pp.enabled:
            assert tmp is not None
            scratch_mask = create_memmap(tmp / "mask.npy", shape, np.uint8)
        pool = stack.enter_context(
            ThreadPoolExecutor(max_workers=min(8, cpu_count()), thread_name_prefix="sxtseg-norm")
        )
        outputs = _Outputs(mask_writer, prob_writer, threshold=threshold,
                           prob_dtype=cfg.prob_dtype, scratch_mask=scratch_mask)  # fmt: skip
        total = sum(shape[PLANE_AXIS[a]] for a in axes)
        if axes == ("xy",):
            run_pipeline(_slabs(reader, step, invert=invert, pool=pool),
                         rescaled(predictor.predict, scales["xy"]), outputs,
                         depth=cfg.prefetch, total=total, progress=progress)  # fmt: skip
        else:
            assert tmp is not None
            _multi_axis(reader, predictor, outputs, tmp, axes=axes, step=step, invert=invert,
                        depth=cfg.prefetch, total=total, progress=progress, pool=pool,
                        scales=scales)  # fmt: skip
        if scratch_mask is not None:
            assert spacing is not None
            scratch_mask.flush()
            tomo = None
            if pp.cell_mask:
                tomo = _cheap_lazy(reader)
                tomo = reader.read() if tomo is None else tomo
            clean = postprocess(np.asarray(scratch_mask), spacing=spacing, config=pp,
                                tomogram=tomo)  # fmt: skip
            for z0 in range(0, shape[0], max(1, step)):
                block = clean[z0 : z0 + step].astype(np.uint8)
                mask_writer.write(z0, block)
                release_writer_pages(mask_writer)
                outputs.foreground += int(block.sum())
            del clean
    seconds = time.perf_counter() - t0
    grid = plan.grid
    desc = "full slice" if grid.single else f"{len(grid)} tiles of {grid.tile[0]}x{grid.tile[1]}"
    return SegmentResult(
        mask_path=mask_path,
        prob_path=prob_path,
        shape=shape,
        voxel_size=spacing,
        device=predictor.device_name,
        model_source=res.source,
        model_trained=res.trained,
        seconds=seconds,
        slices_per_second=shape[0] / seconds if seconds > 0 else float("inf"),
        foreground_fraction=outputs.foreground / float(np.prod(shape)),
        plan=f"{desc}, batch {plan.batch_size}",
        postprocessed=pp.enabled,
        threshold=threshold,
        model_pixel_size_nm=res.pixel_size_nm,
        zoom=None if xy is None else xy.zoom,
    )


def _multi_axis(reader: Any, predictor: Predictor, outputs: _Outputs, tmp: Path, *,
                axes: tuple[str, ...], step: int, invert: bool, depth: int, total: int,
                progress: Progress | None, pool: ThreadPoolExecutor | None,
                scales: dict[str, PlaneScale | None]) -> None:  # fmt: skip
    """Several plane directions through memory-mapped scratch volumes (see module docs).

    ``scales`` maps each plane direction to its resampling to the model's pixel size.
    """
    shape = reader.shape
    raw = create_memmap(tmp / "input.npy", shape, np.float32)  # disk reserved: no SIGBUS
    acc = create_memmap(tmp / "sum.npy", shape, np.float32)

    def add(axis: int) -> Any:
        def sink(i: int, prob: np.ndarray) -> None:
            idx: list[Any] = [slice(None)] * 3
            idx[axis] = slice(i, i + prob.shape[0])
            acc[tuple(idx)] += np.moveaxis(prob, 0, axis)
            release_pages(acc)

        return sink

    if "xy" in axes:
        run_pipeline(_slabs(reader, step, copy_to=raw, invert=invert, pool=pool),
                     rescaled(predictor.predict, scales["xy"]), add(0),
                     depth=depth, total=total, progress=progress)  # fmt: skip
    else:
        for _ in _slabs(reader, step, copy_to=raw, invert=invert, normalise=False):
            pass
    raw.flush()
    for name in axes:
        if name == "xy":
            continue
        axis = PLANE_AXIS[name]
        run_pipeline(_plane_slabs(raw, axis, step, invert=invert, pool=pool),
                     rescaled(predictor.predict, scales[name]), add(axis),
                     depth=depth, total=total, progress=progress)  # fmt: skip
    acc.flush()
    n = float(len(axes))
    for z0 in range(0, shape[0], step):
        outputs(z0, np.asarray(acc[z0 : z0 + step]) / n)
        release_pages(acc)
