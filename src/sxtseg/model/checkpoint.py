"""Save and load trained networks: a folder with ``model.safetensors`` + ``config.json``.

Loading and saving live with the model, so inference needs nothing from
:mod:`sxtseg.train` (which re-exports these names for old imports). The file
handling (bytes, JSON, checksums) is :mod:`sxtseg.io.checkpoint`, torch-free.

>>> from sxtseg.model import load_model
>>> loaded = load_model("default")                      # doctest: +SKIP
>>> loaded.model.predict_proba(x)                       # doctest: +SKIP

``config.json`` holds ``model`` (the :class:`~sxtseg.model.config.ModelConfig`)
and ``meta``: ``trained`` (bool), ``normalization`` (how inputs must be
standardised), ``threshold`` (the mask threshold, calibrated on validation
data), ``pixel_size_nm`` (the XY pixel size the model works at, or null),
``loss`` ("bce_dice" or "paper"), ``init`` (the model fine-tuned from, or
null), the training data summary, metrics and library versions.
:func:`load_model` fills these keys for folders written before they existed
(threshold 0.9, pixel size None, loss from the head, init None).
"""

from __future__ import annotations

import logging
import platform
from pathlib import Path
from typing import Any, NamedTuple

import torch

from sxtseg.errors import InputError
from sxtseg.io.checkpoint import read_model_folder, write_model_folder
from sxtseg.model.config import ModelConfig
from sxtseg.model.network import DoubleDecoderNet, build_model
from sxtseg.preprocess import CLIP

__all__ = [
    "DEFAULT_MODEL_DIR",
    "DEFAULT_THRESHOLD",
    "LoadedModel",
    "default_normalization",
    "load_model",
    "resolve_model_dir",
    "save_model",
    "versions",
]

log = logging.getLogger(__name__)

#: ``meta["threshold"]`` of folders that do not record one (the paper's threshold).
DEFAULT_THRESHOLD = 0.9

#: The bundled model shipped inside the package.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "weights" / "default"


class LoadedModel(NamedTuple):
    """A network ready for inference.

    model : DoubleDecoderNet
        In eval mode, on the requested device.
    config : ModelConfig
    meta : dict
        ``trained``, ``normalization``, ``threshold``, ``pixel_size_nm``,
        ``loss``, ``init``, training summary, metrics, versions.
    path : Path
        The folder it came from.
    """

    model: DoubleDecoderNet
    config: ModelConfig
    meta: dict[str, Any]
    path: Path


def default_normalization(*, polarity_augmented: bool = True) -> dict[str, Any]:
    """The ``meta["normalization"]`` record for :func:`sxtseg.preprocess.normalize_slices`."""
    return {
        "function": "sxtseg.preprocess.normalize_slices",
        "per": "slice",
        "center": "median",
        "scale": "iqr/1.349",
        "clip": CLIP,
        "invert": False,
        "polarity_augmented": polarity_augmented,
    }


def versions() -> dict[str, str]:
    """Library versions recorded in checkpoints."""
    import numpy as np

    from sxtseg._version import __version__

    return {
        "sxtseg": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def resolve_model_dir(source: str | Path) -> Path:
    """``"default"`` -> the bundled folder; anything else is a path."""
    if isinstance(source, str) and source == "default":
        return DEFAULT_MODEL_DIR
    return Path(source)


def save_model(
    model: DoubleDecoderNet,
    config: ModelConfig,
    out_dir: str | Path,
    *,
    meta: dict[str, Any] | None = None,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write ``model`` into ``out_dir`` (``model.safetensors`` + ``config.json``).

    Parameters
    ----------
    model : DoubleDecoderNet
        Weights and BatchNorm statistics are saved (state dict).
    config : ModelConfig
        Its architecture; must match ``model``.
    out_dir : str or Path
        Created if needed; the two files are replaced atomically.
    meta : dict, optional
        JSON-ready metadata; ``trained`` defaults to True, ``normalization`` to
        :func:`default_normalization`, ``versions`` to :func:`versions`.
    dtype : torch.dtype
        Storage type of floating-point tensors (float32; float16 halves the file).

    Returns
    -------
    Path
        ``out_dir``.
    """
    from safetensors.torch import save

    state = {}
    for name, tensor in model.state_dict().items():
        t = tensor.detach().to("cpu")
        if t.is_floating_point():
            t = t.to(dtype)
        state[name] = t.contiguous()
    info = dict(meta or {})
    info.setdefault("trained", True)
    info.setdefault("normalization", default_normalization())
    info.setdefault("versions", versions())
    document = {"model": config.to_dict(), "meta": info}
    return write_model_folder(out_dir, save(state), document)


def load_model(
    source: str | Path = "default", *, device: str | torch.device = "cpu", verify: bool = True
) -> LoadedModel:
    """Load a model folder (or ``"default"``, the bundled model).

    Parameters
    ----------
    source : str or Path
        ``"default"`` or a folder holding ``model.safetensors`` + ``config.json``.
    device : str or torch.device
    verify : bool
        Check the weights' checksum against the JSON.

    Returns
    -------
    LoadedModel
        The model in eval mode (float32).

    Raises
    ------
    InputError
        Missing or inconsistent files, unknown architecture settings, or
        tensors whose names or shapes do not fit the architecture.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = resolve_model_dir(source)
    weights, doc = read_model_folder(folder, verify=verify)
    try:
        config = ModelConfig.from_dict(doc["model"])
    except InputError as exc:  # name the file that holds the bad setting
        raise InputError(f"{folder / 'config.json'}: {exc}") from None
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError) as exc:
        raise InputError(f"{weights}: cannot read weights ({exc})") from None
    with torch.device("meta"):  # shapes first: a corrupt config may declare a huge network
        expected = build_model(config).state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise InputError(
            f"{folder}: weights do not fit a m={config.m} network "
            f"({len(missing)} missing, {len(unexpected)} unexpected tensors, "
            f"e.g. {(missing + unexpected)[0]})"
        )
    bad = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if tuple(state[k].shape) != tuple(v.shape)
    ]
    if bad:
        raise InputError(f"{folder}: {len(bad)} tensor shape(s) do not fit the config; {bad[0]}")
    state = {k: v.to(expected[k].dtype) for k, v in state.items()}
    model = build_model(config)
    model.load_state_dict(state)
    model.to(device).eval()
    meta = dict(doc.get("meta") or {})
    meta.setdefault("trained", False)
    meta.setdefault("normalization", default_normalization(polarity_augmented=False))
    meta.setdefault("threshold", DEFAULT_THRESHOLD)
    meta.setdefault("pixel_size_nm", None)
    meta.setdefault("loss", "paper" if config.label_output == "tanh" else "bce_dice")
    meta.setdefault("init", None)
    log.debug("loaded %s (m=%d, trained=%s)", folder, config.m, meta["trained"])
    return LoadedModel(model, config, meta, folder)
