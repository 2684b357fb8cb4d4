"""Tile grids and smooth blending windows for slices of any size (numpy only).

A slice of H × W pixels is covered by tiles of ``th × tw`` whose starts are
spread evenly from 0 to ``H - th``: the stride is never degenerate (the
authors' scheme shrinks it until it divides ``H - tile``, down to 1 px for
H = 1001). Neighbouring tiles share at least ``overlap`` pixels; each tile's
prediction is weighted by a raised-cosine ramp across the shared band (flat
on faces that touch the slice border) and the weighted sum is divided by the
summed weights, so the result is continuous: no seams.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["TileGrid", "plan_tiles", "ramp", "tile_starts"]


def tile_starts(length: int, tile: int, overlap: int, *, align: int = 1) -> np.ndarray:
    """Start offsets of tiles of ``tile`` px covering ``length`` px.

    Parameters
    ----------
    length : int
        Size of the axis in pixels.
    tile : int
        Tile size in pixels (clipped to ``length``).
    overlap : int
        Minimum number of pixels neighbouring tiles share (< tile).
    align : int
        Starts are multiples of ``align`` (use the network's total downsampling,
        16, with ``length`` and ``tile`` multiples of it: every tile then sees
        the same pooling grid as the whole slice). ``length - tile`` must be a
        multiple of ``align``.

    Returns
    -------
    ndarray of int64, shape (n,)
        Increasing starts, first 0, last ``length - tile``; consecutive starts
        differ by at least ``align`` and at most ``tile - overlap`` (rounded
        down to ``align``, at least ``align``).
    """
    if length < 1 or tile < 1 or align < 1:
        raise ValueError(f"length, tile and align must be >= 1, got {length}, {tile}, {align}")
    tile = min(tile, length)
    if tile == length:
        return np.zeros(1, dtype=np.int64)
    span = length - tile
    if span % align:
        raise ValueError(f"length - tile = {span} is not a multiple of align = {align}")
    overlap = max(0, min(int(overlap), tile - 1))
    units = span // align
    step_units = max(1, (tile - overlap) // align)
    n = math.ceil(units / step_units) + 1
    return (np.round(np.linspace(0, units, n)).astype(np.int64)) * align


def ramp(n: int) -> np.ndarray:
    """Raised-cosine ramp of ``n`` values rising from near 0 to near 1 (all > 0).

    Returns
    -------
    ndarray of float32, shape (n,)
        ``sin²(π/2 · (i + 0.5) / n)``; a ramp and its mirror sum to 1.
    """
    i = np.arange(n, dtype=np.float64)
    return (np.sin(0.5 * np.pi * (i + 0.5) / max(n, 1)) ** 2).astype(np.float32)


def _window_1d(size: int, rise: int, fall: int) -> np.ndarray:
    w = np.ones(size, dtype=np.float32)
    if rise > 0:
        w[:rise] = ramp(rise)
    if fall > 0:
        w[size - fall :] = np.minimum(w[size - fall :], ramp(fall)[::-1])
    return w


@dataclass(frozen=True)
class TileGrid:
    """Tiles covering one slice.

    Attributes
    ----------
    shape : (H, W)
        Slice shape in pixels.
    tile : (th, tw)
        Tile shape (each <= the slice's).
    starts_y, starts_x : tuple of int
        Tile starts along Y and X; the grid is their product.
    blend_y, blend_x : int
        Width of the raised-cosine ramps (the smallest overlap between neighbours).
    """

    shape: tuple[int, int]
    tile: tuple[int, int]
    starts_y: tuple[int, ...]
    starts_x: tuple[int, ...]
    blend_y: int
    blend_x: int

    def __len__(self) -> int:
        return len(self.starts_y) * len(self.starts_x)

    @property
    def single(self) -> bool:
        """True when one tile is the whole slice."""
        return len(self) == 1 and self.tile == self.shape

    @property
    def boxes(self) -> list[tuple[int, int]]:
        """(y0, x0) of every tile, row by row."""
        return [(y, x) for y in self.starts_y for x in self.starts_x]

    def window(self, y0: int, x0: int) -> np.ndarray:
        """Blending weights of the tile at (y0, x0), shape (th, tw), all > 0.

        Faces on the slice border are flat (weight 1) so border pixels that
        only one tile sees keep full weight.
        """
        th, tw = self.tile
        h, w = self.shape
        wy = _window_1d(th, self.blend_y if y0 > 0 else 0, self.blend_y if y0 + th < h else 0)
        wx = _window_1d(tw, self.blend_x if x0 > 0 else 0, self.blend_x if x0 + tw < w else 0)
        return np.outer(wy, wx)

    def weight_sum(self) -> np.ndarray:
        """Sum of all tile windows over the slice, shape (H, W), all > 0."""
        total = np.zeros(self.shape, dtype=np.float32)
        th, tw = self.tile
        for y0, x0 in self.boxes:
            total[y0 : y0 + th, x0 : x0 + tw] += self.window(y0, x0)
        return total


def _blend_width(starts: tuple[int, ...], tile: int) -> int:
    if len(starts) < 2:
        return 0
    return int(tile - max(b - a for a, b in itertools.pairwise(starts)))


def plan_tiles(
    shape: tuple[int, int], *, tile: int, overlap: float = 0.25, align: int = 1
) -> TileGrid:
    """The tile grid for slices of ``shape`` with square tiles of ``tile`` px.

    Parameters
    ----------
    shape : (H, W)
    tile : int
        Tile edge in pixels; an axis shorter than it gets one tile of its full length.
    overlap : float
        Fraction of the tile neighbours share (0 <= overlap < 1).
    align : int
        Tile starts on multiples of this (see :func:`tile_starts`).

    Returns
    -------
    TileGrid
    """
    h, w = int(shape[0]), int(shape[1])
    if h < 1 or w < 1:
        raise ValueError(f"slice shape must be positive, got {shape}")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    th, tw = min(int(tile), h), min(int(tile), w)
    ov = round(overlap * int(tile))
    sy = tuple(int(v) for v in tile_starts(h, th, ov, align=align))
    sx = tuple(int(v) for v in tile_starts(w, tw, ov, align=align))
    return TileGrid((h, w), (th, tw), sy, sx, _blend_width(sy, th), _blend_width(sx, tw))
