"""The label path on ONNX Runtime (CPU): exported once per model, cached, run as a session.

:func:`onnx_label_path` exports the optimised label path
(:func:`sxtseg.infer.fast.optimize_for_inference`: BatchNorm folded, linear
convolutions merged) to ONNX with dynamic batch, height and width, caches
the file under a hash of the weights and architecture, and returns an
:class:`OrtLabelPath`: a callable from (B, 1, H, W) float32 tensors to
membrane probabilities, a drop-in for ``model.predict_proba`` in
:class:`sxtseg.infer.Predictor`.

The graph needs H and W to be multiples of 16 (four 2×2 poolings). The
predictor pads slices and tiles to multiples of 16 before the network; the
callable pads any other input itself (reflection, like the network) and
crops the result, so both paths accept any size.

Cache folder: ``$SXTSEG_CACHE_DIR/onnx``, else ``$XDG_CACHE_HOME/sxtseg/onnx``,
else ``~/.cache/sxtseg/onnx``; when it cannot be written, a temporary folder
for this process. Needs the optional packages ``onnxruntime`` (and ``onnx``
for the exporter of some torch versions): ``pip install 'sxtseg[onnx]'``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sxtseg.errors import InputError
from sxtseg.infer.fast import LabelPath, optimize_for_inference
from sxtseg.model.network import pad_to_divisor

__all__ = [
    "GRAPH_VERSION",
    "OrtLabelPath",
    "cache_dir",
    "export_label_path",
    "exported_label_path",
    "label_path_fingerprint",
    "onnx_label_path",
    "onnxruntime_available",
    "pad_to_grid",
]

log = logging.getLogger(__name__)

#: Bump when the exported graph changes for the same weights (invalidates cached files).
GRAPH_VERSION = 1
OPSET = 17
_EXAMPLE = 64


def onnxruntime_available() -> bool:
    """True when ``onnxruntime`` can be imported."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def cache_dir() -> Path:
    """Folder of the exported graphs (see the module docs); not created here."""
    root = os.environ.get("SXTSEG_CACHE_DIR")
    if root:
        return Path(root) / "onnx"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "sxtseg" / "onnx"


def label_path_fingerprint(path: LabelPath, *, opset: int = OPSET) -> str:
    """SHA-256 of the label path's tensors, structure, label output and the exporter's setup."""
    h = hashlib.sha256()
    h.update(f"sxtseg-label-path v{GRAPH_VERSION} opset {opset} torch {torch.__version__}\n"
             .encode())  # fmt: skip
    h.update(repr(path).encode())
    h.update(repr(path.config).encode())
    for name, tensor in path.state_dict().items():
        t = tensor.detach().to("cpu").contiguous()
        h.update(f"{name} {tuple(t.shape)} {t.dtype}\n".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()


class _Graph(nn.Module):
    """Label path to probability, no padding (inputs are multiples of 16)."""

    def __init__(self, path: LabelPath) -> None:
        super().__init__()
        self.path = path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.path.label_probability(self.path.label_unpadded(x))


def export_label_path(path: LabelPath, out: str | Path, *, opset: int = OPSET) -> Path:
    """Write ``path`` as an ONNX graph: input "slices" (B, 1, H, W), output "probability".

    Batch, height and width are dynamic axes (H and W multiples of 16). The
    file appears whole or not at all.
    """
    out = Path(out)
    graph = _Graph(path).eval()
    example = torch.zeros(1, 1, _EXAMPLE, _EXAMPLE)
    axes = {0: "batch", 2: "height", 3: "width"}
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph, (example,), str(tmp), dynamo=False, opset_version=opset,
                input_names=["slices"], output_names=["probability"],
                dynamic_axes={"slices": axes, "probability": axes},
            )  # fmt: skip
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


class OrtLabelPath:
    """An ONNX Runtime session of the label path: (B, 1, H, W) float32 -> probabilities.

    Parameters
    ----------
    onnx_path : str or Path
        A graph written by :func:`export_label_path`.
    threads : int
        Intra-op threads (the inter-op pool is one thread: the graph runs sequentially).
    pad_mode : str
        How inputs that are not multiples of 16 are padded ("reflect",
        "replicate" or "constant"), as the network does.
    spin : bool
        Let idle worker threads spin between operators (faster on an idle
        machine, slower on a busy one, where they steal the reader's time).
    """

    def __init__(self, onnx_path: str | Path, *, threads: int, pad_mode: str = "reflect",
                 spin: bool = False) -> None:  # fmt: skip
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        opts.log_severity_level = 3
        self.path = Path(onnx_path)
        self.threads = opts.intra_op_num_threads
        self.pad_mode = pad_mode
        self.session = ort.InferenceSession(str(onnx_path), sess_options=opts,
                                            providers=["CPUExecutionProvider"])  # fmt: skip

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Membrane probability of (B, 1, H, W) standardised slices, float32 in [0, 1]."""
        x, h, w = pad_to_grid(x, self.pad_mode)
        arr = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
        (prob,) = self.session.run(["probability"], {"slices": arr})
        return torch.from_numpy(prob)[..., :h, :w]


def pad_to_grid(x: torch.Tensor, pad_mode: str) -> tuple[torch.Tensor, int, int]:
    """(B, 1, H, W) padded at the bottom and right to multiples of 16, like the network."""
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"expected input of shape (B, 1, H, W), got {tuple(x.shape)}")
    return pad_to_divisor(x, pad_mode)


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError:
        return False
    return True


def exported_label_path(model: Any, *, cache: str | Path | None = None) -> tuple[Path, LabelPath]:
    """The ONNX file of ``model``'s optimised label path, exported once and cached.

    Parameters
    ----------
    model : DoubleDecoderNet or LabelPath
    cache : str or Path, optional
        Folder of exported graphs (default :func:`cache_dir`).

    Returns
    -------
    (Path, LabelPath)
        The graph file and the label path it holds.

    Raises
    ------
    InputError
        The model is not a DoubleDecoderNet.
    """
    try:
        path = optimize_for_inference(model)
    except TypeError as exc:
        raise InputError(f"--backend: {exc}") from None
    path = path.to("cpu").float()
    folder = Path(cache) if cache is not None else cache_dir()
    if not _writable(folder):
        folder = Path(tempfile.gettempdir()) / f"sxtseg-onnx-{getattr(os, 'getuid', os.getpid)()}"
        folder.mkdir(parents=True, exist_ok=True)
        log.warning("ONNX cache folder not writable; using %s", folder)
    key = label_path_fingerprint(path)
    target = folder / f"label-{key[:24]}.onnx"
    if target.exists():
        log.info("ONNX label path from the cache: %s", target)
    else:
        log.info("exporting the label path to %s", target)
        export_label_path(path, target)
    return target, path


def onnx_label_path(model: Any, *, threads: int, cache: str | Path | None = None,
                    spin: bool = False) -> OrtLabelPath:  # fmt: skip
    """An ONNX Runtime session of ``model``'s label path (see :func:`exported_label_path`).

    Parameters
    ----------
    model : DoubleDecoderNet or LabelPath
    threads : int
        Intra-op threads.
    cache : str or Path, optional
        Folder of exported graphs (default :func:`cache_dir`).
    spin : bool
        See :class:`OrtLabelPath`.

    Returns
    -------
    OrtLabelPath

    Raises
    ------
    InputError
        onnxruntime is not installed, or the model is not a DoubleDecoderNet.
    """
    if not onnxruntime_available():
        raise InputError("--backend onnx needs onnxruntime: pip install 'sxtseg[onnx]'")
    target, path = exported_label_path(model, cache=cache)
    return OrtLabelPath(target, threads=threads, pad_mode=str(path.config.pad_mode), spin=spin)
