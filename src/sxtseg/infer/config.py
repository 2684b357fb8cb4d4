"""Settings of whole-tomogram segmentation (one frozen dataclass)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sxtseg.errors import InputError

__all__ = [
    "AXES",
    "BACKENDS",
    "DEFAULT_THRESHOLD",
    "PROB_DTYPES",
    "SegmentConfig",
    "check_threshold",
]

#: Planes the network can be run on: "xy" (slices along Z), "xz" (along Y), "yz" (along X).
AXES = ("xy", "xz", "yz", "all")
#: How probabilities are stored: float16/float32 in [0, 1], or uint8 = round(255 p).
PROB_DTYPES = ("float16", "float32", "uint8")
#: What runs the network: PyTorch, ONNX Runtime (CPU), OpenVINO (CPU), or "auto" (ONNX
#: Runtime on the CPU when it is installed, else PyTorch).
BACKENDS = ("torch", "onnx", "openvino", "auto")
#: Mask threshold of models that record none (the paper's, on the [0, 1] scale).
DEFAULT_THRESHOLD = 0.9


def check_threshold(value: Any, *, what: str = "threshold") -> float:
    """``value`` as a float in [0, 1]; :class:`InputError` otherwise."""
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number in [0, 1], got {value!r}") from None
    if not (math.isfinite(t) and 0.0 <= t <= 1.0):
        raise InputError(f"{what} must be in [0, 1], got {value!r}")
    return t


@dataclass(frozen=True)
class SegmentConfig:
    """How a tomogram is segmented.

    Attributes
    ----------
    threshold : float or None
        Mask = probability >= threshold, on the [0, 1] scale. ``None`` takes the
        model's calibrated ``meta["threshold"]`` (0.9, the paper's, when absent);
        see :meth:`threshold_for`.
    tile : int or None
        Tile edge in pixels; ``None`` picks full slices when they fit the
        device memory budget and the largest fitting tile (multiple of 16) otherwise.
    overlap : float
        Fraction of a tile shared with its neighbour (0 <= overlap < 1); the
        shared band is blended with a raised-cosine window.
    batch_size : int or None
        Slices (or tiles) per forward pass; ``None`` chooses from memory.
    device : str
        "auto" (CUDA when present, else CPU), "cpu", "cuda" or "cuda:N".
    tta : bool
        Average the 8 flips/rotations of each slice (8× the compute).
    axes : str
        "xy" (the paper's slice-by-slice), "xz", "yz" or "all" (mean of the three
        orthogonal plane directions; reduces the Z-elongation of 2D predictions).
    amp : str
        Mixed precision on CUDA: "auto" (bf16 where supported, else fp16),
        "bf16", "fp16" or "off". Always off on the CPU.
    channels_last : bool
        Use the channels-last memory format (CUDA, and the CPU with the torch backend).
    fuse : bool
        On the CPU, run the label path with BatchNorm folded into the
        convolutions and linear convolutions merged
        (:func:`sxtseg.infer.fast.optimize_for_inference`; same result up to
        float32 rounding). The GPU path is unchanged.
    backend : str
        "torch" (default), "onnx" (ONNX Runtime on the CPU; needs
        ``sxtseg[onnx]``; the graph is exported once per model and cached,
        see :mod:`sxtseg.infer.onnxrt`), "openvino" (OpenVINO on the CPU from
        the same graph; needs ``sxtseg[openvino]``) or "auto" (ONNX Runtime
        when the device is the CPU and onnxruntime is installed, else torch).
    compile : bool
        Wrap the label path in ``torch.compile``.
    prob_dtype : str
        Storage type of the probability volume: "float16", "float32" or "uint8".
    num_threads : int or None
        CPU threads for the network (default: ``OMP_NUM_THREADS``, else the
        physical cores this process may use).
    prefetch : int
        Slabs queued between the reader, compute and writer threads.
    invert : bool or None
        Flip intensity polarity before the network; ``None`` takes the
        checkpoint's ``meta["normalization"]["invert"]``.
    memory_fraction : float
        Share of the free device memory (CUDA) or available RAM (CPU) the
        network's activations may use when the batch or tile size is automatic.
    max_cpu_memory_mb : float
        Upper bound of that budget on the CPU, in MiB.
    scratch_dir : str or None
        Folder for the temporary memory-mapped volumes of ``axes`` other than
        "xy" and of post-processing (default: next to the mask).
    rescale : bool
        Resample each plane to the model's pixel size (``meta["pixel_size_nm"]``)
        before the network and the probabilities back to the input grid; skipped
        when the zoom is within ±10 % of 1 or the model records no pixel size.
    """

    threshold: float | None = None
    tile: int | None = None
    overlap: float = 0.25
    batch_size: int | None = None
    device: str = "auto"
    tta: bool = False
    axes: str = "xy"
    amp: str = "auto"
    channels_last: bool = True
    fuse: bool = True
    backend: str = "torch"
    compile: bool = False
    prob_dtype: str = "float16"
    num_threads: int | None = None
    prefetch: int = 2
    invert: bool | None = None
    memory_fraction: float = 0.5
    max_cpu_memory_mb: float = 2048.0
    scratch_dir: str | None = None
    rescale: bool = True

    def __post_init__(self) -> None:
        if self.threshold is not None:
            check_threshold(self.threshold)
        if self.tile is not None and int(self.tile) < 16:
            raise InputError(f"tile must be >= 16 pixels, got {self.tile!r}")
        if not (0.0 <= self.overlap < 1.0):
            raise InputError(f"overlap must be in [0, 1), got {self.overlap!r}")
        if self.batch_size is not None and int(self.batch_size) < 1:
            raise InputError(f"batch size must be >= 1, got {self.batch_size!r}")
        if self.axes not in AXES:
            raise InputError(f"axes must be one of {', '.join(AXES)}, got {self.axes!r}")
        if self.amp not in ("auto", "bf16", "fp16", "off"):
            raise InputError(f"amp must be auto, bf16, fp16 or off, got {self.amp!r}")
        if self.backend not in BACKENDS:
            raise InputError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.prob_dtype not in PROB_DTYPES:
            raise InputError(f"prob dtype must be one of {', '.join(PROB_DTYPES)}, "
                             f"got {self.prob_dtype!r}")  # fmt: skip
        if self.num_threads is not None and int(self.num_threads) < 1:
            raise InputError(f"num_threads must be >= 1, got {self.num_threads!r}")
        if int(self.prefetch) < 1:
            raise InputError(f"prefetch must be >= 1, got {self.prefetch!r}")
        if not (0.0 < self.memory_fraction <= 1.0):
            raise InputError(f"memory_fraction must be in (0, 1], got {self.memory_fraction!r}")
        if not self.max_cpu_memory_mb > 0:
            raise InputError("max_cpu_memory_mb must be > 0")
        dev = str(self.device)
        if dev not in ("auto", "cpu", "cuda", "mps") and not dev.startswith("cuda:"):
            raise InputError(f"device must be auto, cpu or cuda[:N], got {self.device!r}")

    def threshold_for(self, model_threshold: float | None) -> float:
        """The threshold to use: this config's, else the model's, else 0.9."""
        if self.threshold is not None:
            return float(self.threshold)
        if model_threshold is None:
            return DEFAULT_THRESHOLD
        return check_threshold(model_threshold, what="the model's threshold")

    @property
    def plane_axes(self) -> tuple[str, ...]:
        """The plane directions to run, e.g. ("xy",) or ("xy", "xz", "yz")."""
        return ("xy", "xz", "yz") if self.axes == "all" else (self.axes,)
