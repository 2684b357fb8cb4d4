"""IMOD ``.tlt`` tilt-angle files: one angle in degrees per line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sxtseg.errors import InputError
from sxtseg.io.base import temp_sibling

__all__ = ["read_tilt_angles", "write_tilt_angles"]


def read_tilt_angles(path: str | Path) -> np.ndarray:
    """Read tilt angles (degrees), shape (n,), float64."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    values: list[float] = []
    for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
        text = line.strip()
        if not text:
            continue
        try:
            values.append(float(text.split()[0]))
        except ValueError:
            raise InputError(f"{p}:{i}: not a tilt angle: {text[:40]!r}") from None
    if not values:
        raise InputError(f"{p}: no tilt angles")
    return np.asarray(values, dtype=np.float64)


def write_tilt_angles(path: str | Path, angles: np.ndarray, *, overwrite: bool = False) -> Path:
    """Write tilt angles (degrees) atomically, one per line with 2 decimals."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise InputError(f"{p} exists; pass --overwrite to replace it")
    tmp = temp_sibling(p)
    tmp.write_text("".join(f"{float(a):7.2f}\n" for a in np.asarray(angles).ravel()))
    os.replace(tmp, p)
    return p
