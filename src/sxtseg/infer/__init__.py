"""Whole-tomogram segmentation with a trained network (torch).

- :func:`segment_file` — file in, mask (and probability) file out, streamed
  in bounded memory with overlapped reading, compute and writing.
- :func:`segment_array` — the same on a (Z, Y, X) array in memory.
- :class:`SegmentConfig` — threshold, tiling, TTA, axes, device, precision.
- :class:`Predictor` — batched label-path inference on normalised slices.
- :mod:`sxtseg.infer.rescale` — planes resampled to the model's pixel size and back.

Importing this package imports torch; ``import sxtseg`` does not.
"""

from __future__ import annotations

from sxtseg.infer.config import AXES, DEFAULT_THRESHOLD, PROB_DTYPES, SegmentConfig
from sxtseg.infer.predict import Plan, Predictor, dihedral, dihedral_inverse
from sxtseg.infer.rescale import PlaneScale, plane_scale
from sxtseg.infer.tiling import TileGrid, plan_tiles, tile_starts
from sxtseg.infer.tomogram import SegmentResult, encode_probabilities, segment_file
from sxtseg.infer.volume import ResolvedModel, resolve_model, segment_array

__all__ = [
    "AXES",
    "DEFAULT_THRESHOLD",
    "PROB_DTYPES",
    "Plan",
    "PlaneScale",
    "Predictor",
    "ResolvedModel",
    "SegmentConfig",
    "SegmentResult",
    "TileGrid",
    "dihedral",
    "dihedral_inverse",
    "encode_probabilities",
    "plan_tiles",
    "plane_scale",
    "resolve_model",
    "segment_array",
    "segment_file",
    "tile_starts",
]
