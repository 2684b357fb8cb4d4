"""Batched label-path inference on slices: tiling, blending, TTA, mixed precision.

:class:`Predictor` turns normalised slices (N, H, W) into membrane
probabilities (N, H, W) in [0, 1]. It runs only the label path of the network
(``model.predict_proba`` when the module has it, i.e. sigmoid of logits or
(tanh + 1) / 2 as the model's ``label_output`` says; otherwise
``model.predict_label`` read as tanh), batches full slices or tiles on the device,
accumulates blended tiles on the device and moves back one float32 array per
batch.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from sxtseg.errors import InputError
from sxtseg.infer.config import SegmentConfig
from sxtseg.infer.devices import autocast_dtype, memory_budget_bytes, resolve_device
from sxtseg.infer.tiling import TileGrid, plan_tiles

__all__ = ["BYTES_PER_PIXEL_PER_M", "Plan", "Predictor", "dihedral", "dihedral_inverse"]

log = logging.getLogger(__name__)

#: Peak activation bytes per pixel per unit of width m for the label path
#: (measured on the CPU in fp32: ~150; half for 16-bit autocast).
BYTES_PER_PIXEL_PER_M = 160
_DIVISOR = 16
_MAX_CPU_BATCH = 4
_MAX_CUDA_BATCH = 64


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th (0..7) of the 8 flips/rotations of the last two axes."""
    if k >= 4:
        x = torch.flip(x, dims=(-1,))
    return torch.rot90(x, k % 4, dims=(-2, -1)) if k % 4 else x


def dihedral_inverse(x: torch.Tensor, k: int) -> torch.Tensor:
    """Undo :func:`dihedral` with the same ``k``."""
    if k % 4:
        x = torch.rot90(x, -(k % 4), dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if k >= 4 else x


@dataclass(frozen=True)
class Plan:
    """How slices of one shape are run: a tile grid and a batch size."""

    grid: TileGrid
    batch_size: int

    @property
    def tiled(self) -> bool:
        """False when each slice goes through the network whole."""
        return not self.grid.single


def _tanh_probability(label: torch.Tensor) -> torch.Tensor:
    return (label.float() + 1.0) * 0.5


def _identity(p: torch.Tensor) -> torch.Tensor:
    return p


def _probability_path(model: nn.Module) -> tuple[Any, Any]:
    """(forward function, label -> probability) for a module.

    ``predict_proba`` (the network's own head mapping, run inside autocast and
    ``torch.compile``) when present; else ``predict_label`` followed by
    ``label_probability`` when present; else ``predict_label`` read as tanh.
    """
    proba = getattr(model, "predict_proba", None)
    if callable(proba):
        return proba, _identity
    to_prob = getattr(model, "label_probability", None)
    return model.predict_label, (to_prob if callable(to_prob) else _tanh_probability)


def _optimizable(model: nn.Module) -> bool:
    from sxtseg.infer.fast import LabelPath
    from sxtseg.model.network import DoubleDecoderNet

    return isinstance(model, (DoubleDecoderNet, LabelPath))


#: Exported backends: (Python package, sxtseg extra).
_EXPORTED = {"onnx": ("onnxruntime", "onnx"), "openvino": ("openvino", "openvino")}


def _installed(backend: str) -> bool:
    if backend == "onnx":
        from sxtseg.infer.onnxrt import onnxruntime_available

        return onnxruntime_available()
    from sxtseg.infer.openvino_backend import openvino_available

    return openvino_available()


def _choose_backend(name: str, device: torch.device, model: nn.Module) -> str:
    """The backend ("torch", "onnx" or "openvino") for ``SegmentConfig.backend`` ``name``.

    "auto" is ONNX Runtime on the CPU when it is installed and the model is
    the sxtseg network, else torch.

    Raises
    ------
    InputError
        An exported backend on a GPU, not installed, or for a module that is not the network.
    """
    if name == "torch":
        return "torch"
    if name == "auto":
        usable = device.type == "cpu" and _optimizable(model) and _installed("onnx")
        return "onnx" if usable else "torch"
    package, extra = _EXPORTED[name]
    if device.type != "cpu":
        raise InputError(f"--backend {name} runs on the CPU: use --device cpu "
                         "(or --backend torch)")  # fmt: skip
    if not _installed(name):
        raise InputError(f"--backend {name} needs {package}: pip install 'sxtseg[{extra}]'")
    if not _optimizable(model):
        raise InputError(f"--backend {name} needs the sxtseg network, "
                         f"not a {type(model).__name__}")  # fmt: skip
    return name


def _round16(n: int) -> int:
    return int(math.ceil(n / _DIVISOR) * _DIVISOR)


def _count(shape: tuple[int, int], tile: int, overlap: float) -> int:
    return len(plan_tiles(shape, tile=tile, overlap=overlap, align=_DIVISOR))


def _snug_tile(shape: tuple[int, int], largest: int, overlap: float) -> int:
    """The smallest tile (multiple of 16) that needs no more tiles than ``largest`` does.

    A 512-px slice with room for 448-px tiles needs 2 x 2 tiles either way; 288-px
    tiles do it with 1.3x redundant pixels instead of 3x.
    """
    need = _count(shape, largest, overlap)
    for tile in range(_DIVISOR * 2, largest, _DIVISOR):
        if _count(shape, tile, overlap) <= need:
            return tile
    return largest


class Predictor:
    """Label-path inference for one model on one device.

    Parameters
    ----------
    model : nn.Module
        A module with ``predict_proba(x)`` ((B, 1, H, W) -> probabilities in [0, 1]),
        or with ``predict_label(x)`` and ``label_probability(label)``, or with only
        ``predict_label(x)``, read as a tanh map in [-1, 1] (p = (label + 1) / 2).
    config : SegmentConfig
        Tile, overlap, batch size, device, TTA, mixed precision, compile, and
        on the CPU the backend (torch or ONNX Runtime), BatchNorm folding and
        channels-last.

    Attributes
    ----------
    backend : str
        "torch", "onnx" or "openvino": what runs the network.
    device_name : str
        The device in words, with threads and CPU optimisations.
    """

    def __init__(self, model: nn.Module, *, config: SegmentConfig | None = None) -> None:
        self.config = cfg = config or SegmentConfig()
        device = "cpu" if cfg.backend in _EXPORTED and cfg.device == "auto" else cfg.device
        info = resolve_device(device, num_threads=cfg.num_threads)
        self.device = info.device
        self.backend = _choose_backend(cfg.backend, self.device, model)
        self.model = model.to(self.device).eval()
        self.amp = autocast_dtype(self.device, cfg.amp)
        what = ""
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            if cfg.channels_last:
                # torch's stubs for Module.to omit its documented memory_format keyword
                self.model = self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        elif self.device.type == "cpu" and self.backend == "torch":
            if cfg.fuse and _optimizable(self.model):
                from sxtseg.infer.fast import optimize_for_inference

                self.model = optimize_for_inference(self.model)
                what = ", BatchNorm folded"
            if cfg.channels_last:
                # torch's stubs for Module.to omit its documented memory_format keyword
                self.model = self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
                what += ", channels-last"
        self._fn: Any
        if self.backend == "onnx":
            from sxtseg.infer.onnxrt import onnx_label_path

            self._fn, self._to_prob = onnx_label_path(model, threads=info.threads), _identity
            what = ", onnxruntime"
        elif self.backend == "openvino":
            from sxtseg.infer.openvino_backend import openvino_label_path

            self._fn, self._to_prob = openvino_label_path(model, threads=info.threads), _identity
            what = ", OpenVINO"
        else:
            self._fn, self._to_prob = _probability_path(self.model)
        self.device_name = info.name + what
        log.info("network on %s", self.device_name)
        if cfg.compile:
            self._fn = torch.compile(self._fn, dynamic=False)
        cfg_m = getattr(getattr(model, "config", None), "m", 16)
        self.width = int(cfg_m) if isinstance(cfg_m, int) else 16
        self._plans: dict[tuple[int, int], Plan] = {}
        self._weights: dict[tuple[int, int], tuple[torch.Tensor, list[torch.Tensor]]] = {}

    # -- planning ---------------------------------------------------------------------------
    def bytes_per_pixel(self) -> int:
        """Estimated peak activation bytes per input pixel (label path)."""
        per = BYTES_PER_PIXEL_PER_M * self.width
        return per // 2 if self.amp is not None else per

    def plan(self, shape: tuple[int, int]) -> Plan:
        """Tile grid and batch size for slices of ``shape`` (H, W); cached.

        The grid is planned on the slice padded to multiples of 16 (see
        :meth:`pad`), with tile starts on multiples of 16, so each tile sees
        the same pooling grid as the whole slice.
        """
        key = (_round16(int(shape[0])), _round16(int(shape[1])))
        if key in self._plans:
            return self._plans[key]
        cfg = self.config
        budget = memory_budget_bytes(self.device, fraction=cfg.memory_fraction,
                                     cpu_cap_mb=cfg.max_cpu_memory_mb)  # fmt: skip
        px_budget = max(1, budget // self.bytes_per_pixel())
        h, w = key
        full_px = h * w
        cap = _MAX_CUDA_BATCH if self.device.type == "cuda" else _MAX_CPU_BATCH
        if cfg.tile is not None:
            tile = _round16(int(cfg.tile))
        elif full_px <= px_budget:
            tile = max(h, w)
        else:
            tile = _snug_tile(key, max(64, int(math.sqrt(px_budget)) // _DIVISOR * _DIVISOR),
                              cfg.overlap)  # fmt: skip
        grid = plan_tiles(key, tile=tile, overlap=cfg.overlap, align=_DIVISOR)
        tile_px = grid.tile[0] * grid.tile[1]
        batch = cfg.batch_size or int(max(1, min(cap, px_budget // tile_px)))
        plan = Plan(grid, int(batch))
        log.info("slices %dx%d: %s, batch %d (budget %.0f MiB)", h, w,
                 "full slice" if grid.single else f"{len(grid)} tiles of {grid.tile}",
                 plan.batch_size, budget / 2**20)  # fmt: skip
        self._plans[key] = plan
        return plan

    def _windows(self, grid: TileGrid) -> tuple[torch.Tensor, list[torch.Tensor]]:
        key = grid.shape
        if key not in self._weights:
            wins = [torch.from_numpy(grid.window(y, x)).to(self.device) for y, x in grid.boxes]
            total = torch.from_numpy(grid.weight_sum()).to(self.device)
            self._weights[key] = (total, wins)
        return self._weights[key]

    # -- compute ----------------------------------------------------------------------------
    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, h, w) float32 on device -> probabilities (B, 1, h, w) float32."""
        if self.config.channels_last and self.backend == "torch":
            x = x.contiguous(memory_format=torch.channels_last)
        if self.amp is not None:
            with torch.autocast(self.device.type, dtype=self.amp):
                y = self._fn(x)
        else:
            y = self._fn(x)
        return self._to_prob(y).float().clamp_(0.0, 1.0)

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """Pad (N, 1, H, W) at the bottom and right to multiples of 16, as the network does."""
        h, w = int(x.shape[-2]), int(x.shape[-1])
        ph, pw = _round16(h) - h, _round16(w) - w
        if not (ph or pw):
            return x
        mode = str(getattr(getattr(self.model, "config", None), "pad_mode", "reflect"))
        if mode == "reflect" and (ph >= h or pw >= w):
            mode = "replicate"
        return torch.nn.functional.pad(x, (0, pw, 0, ph), mode=mode)

    def _predict_plain(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 1, H, W) on device -> (N, 1, H, W) probabilities, no TTA."""
        h, w = int(x.shape[-2]), int(x.shape[-1])
        x = self.pad(x)
        plan = self.plan((h, w))
        b = plan.batch_size
        if not plan.tiled:
            out = torch.cat([self._forward(x[i : i + b]) for i in range(0, x.shape[0], b)])
            return out[..., :h, :w]
        grid = plan.grid
        th, tw = grid.tile
        total, wins = self._windows(grid)
        out = torch.zeros_like(x)
        jobs = [(n, t) for n in range(x.shape[0]) for t in range(len(grid))]
        boxes = grid.boxes
        for j in range(0, len(jobs), b):
            chunk = jobs[j : j + b]
            tiles = torch.stack(
                [x[n, :, boxes[t][0] : boxes[t][0] + th, boxes[t][1] : boxes[t][1] + tw]
                 for n, t in chunk]
            )  # fmt: skip
            pred = self._forward(tiles)
            for (n, t), p in zip(chunk, pred):
                y0, x0 = boxes[t]
                out[n, :, y0 : y0 + th, x0 : x0 + tw] += p * wins[t]
        return (out / total)[..., :h, :w]

    @torch.inference_mode()
    def predict(self, slices: np.ndarray) -> np.ndarray:
        """Membrane probability of normalised slices.

        Parameters
        ----------
        slices : ndarray, shape (N, H, W) or (H, W)
            Slices already normalised with :func:`sxtseg.preprocess.normalize_slices`.

        Returns
        -------
        ndarray of float32, same shape, values in [0, 1]
        """
        arr = np.asarray(slices, dtype=np.float32)
        squeeze = arr.ndim == 2
        if squeeze:
            arr = arr[None]
        if arr.ndim != 3:
            raise ValueError(f"expected (N, H, W) slices, got shape {arr.shape}")
        x = torch.from_numpy(np.ascontiguousarray(arr)).to(self.device)[:, None]
        if not self.config.tta:
            out = self._predict_plain(x)
        else:
            out = torch.zeros_like(x)
            for k in range(8):
                out += dihedral_inverse(self._predict_plain(dihedral(x, k)), k)
            out /= 8.0
        res = out[:, 0].float().cpu().numpy()
        return res[0] if squeeze else res
