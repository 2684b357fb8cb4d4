"""The label path on OpenVINO (CPU), from the same cached ONNX graph as ONNX Runtime.

:func:`openvino_label_path` reads the graph that
:func:`sxtseg.infer.onnxrt.exported_label_path` exported (BatchNorm folded,
dynamic batch, height and width) and compiles it for the CPU in float32
(``INFERENCE_PRECISION_HINT`` f32: OpenVINO would otherwise run bf16 on CPUs
that support it, which changes the masks), once per input shape (a few
shapes per run: the full batch and the last one). Needs the optional package
``openvino``: ``pip install 'sxtseg[openvino]'``.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sxtseg.errors import InputError
from sxtseg.infer.onnxrt import exported_label_path, pad_to_grid

__all__ = ["OvLabelPath", "openvino_available", "openvino_label_path"]

log = logging.getLogger(__name__)

_SHAPES = 4


def openvino_available() -> bool:
    """True when ``openvino`` can be imported."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


class OvLabelPath:
    """An OpenVINO CPU model of the label path: (B, 1, H, W) float32 -> probabilities.

    Parameters
    ----------
    onnx_path : str or Path
        A graph written by :func:`sxtseg.infer.onnxrt.export_label_path`.
    threads : int
        CPU threads (one inference stream, latency mode).
    pad_mode : str
        How inputs that are not multiples of 16 are padded, as the network does.
    """

    def __init__(self, onnx_path: str | Path, *, threads: int, pad_mode: str = "reflect") -> None:
        import openvino as ov

        self.path = Path(onnx_path)
        self.threads = max(1, int(threads))
        self.pad_mode = pad_mode
        self._core = ov.Core()
        self._model = self._core.read_model(str(onnx_path))
        self._config: dict[str, Any] = {
            "INFERENCE_NUM_THREADS": self.threads,
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "f32",
        }
        self._compiled: OrderedDict[tuple[int, ...], Any] = OrderedDict()

    def _request(self, shape: tuple[int, ...]) -> Any:
        if shape in self._compiled:
            self._compiled.move_to_end(shape)
            return self._compiled[shape]
        model = self._model.clone()
        model.reshape({model.inputs[0].get_any_name(): list(shape)})
        compiled = self._core.compile_model(model, "CPU", self._config)
        request = compiled.create_infer_request()
        self._compiled[shape] = request
        while len(self._compiled) > _SHAPES:
            self._compiled.popitem(last=False)
        log.debug("OpenVINO label path compiled for %s", shape)
        return request

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Membrane probability of (B, 1, H, W) standardised slices, float32 in [0, 1]."""
        x, h, w = pad_to_grid(x, self.pad_mode)
        arr = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
        request = self._request(tuple(arr.shape))
        request.infer({0: arr})
        # the request reuses its output buffer: copy before the next call
        prob = np.array(request.get_output_tensor(0).data, dtype=np.float32, copy=True)
        return torch.from_numpy(prob)[..., :h, :w]


def openvino_label_path(model: Any, *, threads: int,
                        cache: str | Path | None = None) -> OvLabelPath:  # fmt: skip
    """An OpenVINO model of ``model``'s label path (the ONNX export is cached).

    Raises
    ------
    InputError
        openvino is not installed, or the model is not a DoubleDecoderNet.
    """
    if not openvino_available():
        raise InputError("--backend openvino needs openvino: pip install 'sxtseg[openvino]'")
    target, path = exported_label_path(model, cache=cache)
    return OvLabelPath(target, threads=threads, pad_mode=str(path.config.pad_mode))
