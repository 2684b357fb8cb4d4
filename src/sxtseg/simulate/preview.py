"""Preview images of a simulation: central XY and XZ slices, membrane truth outlined.

Displayed as the field shows cryo-SXT: absorbing structures dark (the
absorption values are inverted for display only). Each PNG shows the slice on
the left and the same slice with the membrane truth outlined on the right.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy import ndimage

__all__ = ["render_slice", "write_previews"]

_OUTLINE = np.array([1.0, 0.55, 0.0])  # orange


def render_slice(
    image: np.ndarray, mask: np.ndarray | None = None, *, scale: int = 2
) -> np.ndarray:
    """RGB (H·scale, 2·W·scale + gap, 3) float image: inverted slice | slice + outline.

    Parameters
    ----------
    image : ndarray (H, W)
        Absorption (dense = high); shown dark.
    mask : ndarray (H, W), optional
        Membrane truth; its outline is drawn on the right panel.
    scale : int
        Integer up-sampling (nearest) for visibility.
    """
    img = np.asarray(image, dtype=np.float64)
    lo, hi = np.percentile(img, [1.0, 99.0])
    gray = 1.0 - np.clip((img - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    gray = np.kron(gray, np.ones((scale, scale)))
    left = np.repeat(gray[..., None], 3, axis=2)
    right = left.copy()
    if mask is not None:
        m = np.kron(np.asarray(mask) > 0, np.ones((scale, scale), dtype=bool)).astype(bool)
        edge = m & ~ndimage.binary_erosion(m, border_value=0)
        right[edge] = 0.35 * right[edge] + 0.65 * _OUTLINE
    gap = np.ones((left.shape[0], 4 * scale, 3))
    return np.concatenate([left, gap, right], axis=1)


def _save_png(path: Path, rgb: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import image as mpimg

    tmp = path.with_name(f".{path.name}.tmp.png")
    mpimg.imsave(tmp, np.clip(rgb, 0, 1))
    os.replace(tmp, path)


def write_previews(
    tomogram: np.ndarray, membranes: np.ndarray | None, out_dir: str | Path, *, scale: int = 2
) -> list[Path]:
    """Write ``preview_xy.png`` (central Z slice) and ``preview_xz.png`` (central Y slice).

    Parameters
    ----------
    tomogram : ndarray (Z, Y, X)
    membranes : ndarray (Z, Y, X) or None
    out_dir : path
    """
    out = Path(out_dir)
    zc, yc = tomogram.shape[0] // 2, tomogram.shape[1] // 2
    mxy = None if membranes is None else membranes[zc]
    mxz = None if membranes is None else membranes[:, yc, :]
    paths = [out / "preview_xy.png", out / "preview_xz.png"]
    _save_png(paths[0], render_slice(tomogram[zc], mxy, scale=scale))
    _save_png(paths[1], render_slice(tomogram[:, yc, :], mxz, scale=scale))
    return paths
