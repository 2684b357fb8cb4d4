"""Export a trained model for other tools: ONNX or TorchScript.

The exported graph takes standardised slices (B, 1, H, W) — standardise each
slice with :func:`sxtseg.preprocess.normalize_slices` (median/IQR, clip ±8) —
with H and W multiples of 16 (pad with reflection and crop back), and returns
the membrane probability in [0, 1] (output "label"; the model's logits or tanh
head converted as its ``label_output`` says), plus the image reconstruction
when ``label_only=False``. Threshold it at the model's ``meta["threshold"]``.

>>> from sxtseg.train.export import export_model
>>> export_model("my_model", "my_model.onnx")            # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from sxtseg.errors import InputError
from sxtseg.io.base import temp_sibling
from sxtseg.model import DIVISOR, DoubleDecoderNet
from sxtseg.model.checkpoint import load_model

__all__ = ["ExportGraph", "export_model"]

log = logging.getLogger(__name__)


class ExportGraph(nn.Module):
    """The network without the internal padding (inputs must be multiples of 16).

    Returns the membrane probability (B, 1, H, W) in [0, 1], plus the image.
    """

    def __init__(self, model: DoubleDecoderNet, *, label_only: bool = True) -> None:
        super().__init__()
        self.model = model
        self.label_only = label_only or model.image_decoder is None

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        skips, neck = self.model.features(x)
        label = self.model.label_probability(self.model.decode_label(skips, neck))
        if self.label_only:
            return label
        return label, self.model.decode_image(neck)


def export_model(
    source: str | Path,
    out_path: str | Path,
    *,
    fmt: str | None = None,
    label_only: bool = True,
    opset: int = 17,
    example_size: int = 256,
    overwrite: bool = False,
) -> Path:
    """Export a model folder (or ``"default"``) to ONNX or TorchScript.

    Parameters
    ----------
    source : str or Path
        Model folder or ``"default"``.
    out_path : str or Path
        ``.onnx`` (ONNX, dynamic batch/height/width) or ``.pt``/``.ts``
        (TorchScript, traced).
    fmt : {"onnx", "torchscript"}, optional
        Overrides the choice from the extension.
    label_only : bool
        Export only the label path (what segmentation needs).
    opset : int
        ONNX opset.
    example_size : int
        Side of the example input used for tracing (multiple of 16).
    overwrite : bool

    Returns
    -------
    Path
        The written file (appears whole or not at all).
    """
    out = Path(out_path)
    fmt = fmt or ("onnx" if out.suffix.lower() == ".onnx" else "torchscript")
    if fmt not in ("onnx", "torchscript"):
        raise InputError(f"export format must be onnx or torchscript, got {fmt!r}")
    if out.exists() and not overwrite:
        raise InputError(f"{out}: exists (use overwrite)")
    if example_size % DIVISOR:
        raise InputError(f"example_size must be a multiple of {DIVISOR}")
    loaded = load_model(source, device="cpu")
    graph = ExportGraph(loaded.model, label_only=label_only).eval()
    example = torch.zeros(1, 1, example_size, example_size)
    outputs = ["label"] if graph.label_only else ["label", "image"]
    tmp = temp_sibling(out)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fmt == "onnx":
                axes = {0: "batch", 2: "height", 3: "width"}
                torch.onnx.export(
                    graph, (example,), str(tmp), dynamo=False, opset_version=opset,
                    input_names=["slices"], output_names=outputs,
                    dynamic_axes={name: axes for name in ["slices", *outputs]},
                )  # fmt: skip
            else:
                torch.jit.trace(graph, example).save(str(tmp))
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    log.info("exported %s (%s, %s) to %s", loaded.path, fmt, ", ".join(outputs), out)
    return out
