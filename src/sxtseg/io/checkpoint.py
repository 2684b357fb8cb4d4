"""Model folders on disk: ``model.safetensors`` + ``config.json`` (no torch here).

A model folder holds the weights (safetensors) and one JSON document with the
architecture, normalisation, training summary and versions. This module only
moves bytes and JSON; building the network is :mod:`sxtseg.model.checkpoint`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

from sxtseg.errors import InputError
from sxtseg.io.base import temp_sibling

__all__ = [
    "CONFIG_NAME",
    "FORMAT",
    "WEIGHTS_NAME",
    "read_model_folder",
    "sha256_file",
    "write_json_atomic",
    "write_model_folder",
]

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
FORMAT = "sxtseg-model"


def sha256_file(path: Path, *, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _write_bytes_atomic(path: Path, data: bytes) -> None:
    tmp = temp_sibling(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _strict(value: Any) -> Any:
    """NaN and infinities -> None, so the file is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """numpy scalars and arrays -> Python values; anything else -> its text (paths...)."""
    if hasattr(value, "tolist"):
        return _strict(value.tolist())
    return str(value)


def write_json_atomic(path: str | Path, document: dict[str, Any]) -> Path:
    """Write ``document`` as indented, strict JSON (NaN -> null) to ``path`` atomically.

    numpy scalars become numbers and other non-JSON values (paths) their text.
    """
    p = Path(path)
    text = json.dumps(_strict(document), indent=2, allow_nan=False, default=_plain)
    _write_bytes_atomic(p, (text + "\n").encode())
    return p


def write_model_folder(out_dir: str | Path, weights: bytes, document: dict[str, Any]) -> Path:
    """Write serialized safetensors ``weights`` and ``config.json`` into ``out_dir``.

    Each file is written atomically; the weights' SHA-256 goes into the JSON
    (``weights_sha256``) so a folder whose two files do not belong together is
    detected on loading.

    Returns
    -------
    Path
        ``out_dir``.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, "format_version": 1, **document}
    doc["weights_sha256"] = hashlib.sha256(weights).hexdigest()
    _write_bytes_atomic(out / WEIGHTS_NAME, weights)
    write_json_atomic(out / CONFIG_NAME, doc)
    return out


def _number(value: Any) -> float | None:
    """``value`` as a finite float, None when it is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _check_meta(meta: Any, config: Path) -> None:
    """The ``meta`` entries that inference reads: a mapping, a threshold, a pixel size."""
    if meta is None:
        return
    if not isinstance(meta, dict):
        raise InputError(f"{config}: 'meta' must be a mapping, got {type(meta).__name__}")
    threshold = meta.get("threshold")
    if threshold is not None and not 0.0 <= (_number(threshold) or -1.0) <= 1.0:
        raise InputError(f"{config}: meta.threshold must be a number in [0, 1], got {threshold!r}")
    pixel = meta.get("pixel_size_nm")
    if pixel is not None and (_number(pixel) or 0.0) <= 0.0:
        raise InputError(f"{config}: meta.pixel_size_nm must be a number > 0, got {pixel!r}")
    for key in ("normalization", "init"):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            raise InputError(f"{config}: meta.{key} must be a mapping, got {meta[key]!r}")


def read_model_folder(folder: str | Path, *, verify: bool = True) -> tuple[Path, dict[str, Any]]:
    """Check a model folder and read its JSON.

    Parameters
    ----------
    folder : str or Path
    verify : bool
        Compare the weights' SHA-256 with the one recorded in the JSON.

    Returns
    -------
    (weights_path, document)

    Raises
    ------
    InputError
        Missing folder or files, invalid JSON, foreign format, checksum mismatch.
    """
    p = Path(folder)
    if not p.is_dir():
        raise InputError(f"{p}: no such model folder (expected {WEIGHTS_NAME} + {CONFIG_NAME})")
    weights, config = p / WEIGHTS_NAME, p / CONFIG_NAME
    for f in (weights, config):
        if not f.is_file():
            raise InputError(f"{f}: missing, so {p} is not a model folder")
    try:
        doc = json.loads(config.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{config}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{config}: not an sxtseg model config (format != {FORMAT!r})")
    if not isinstance(doc.get("model"), dict):
        raise InputError(f"{config}: no 'model' architecture section")
    _check_meta(doc.get("meta"), config)
    if verify and doc.get("weights_sha256"):
        digest = sha256_file(weights)
        if digest != doc["weights_sha256"]:
            raise InputError(
                f"{weights}: does not match {CONFIG_NAME} (checksum differs: truncated, "
                "corrupted or replaced)"
            )
    return weights, doc
