"""The front door for notebooks: arrays (or a :class:`~sxtseg.types.Volume`) in, results out.

Every function takes a (Z, Y, X) array or a ``Volume``, keyword-only options
and an explicit voxel size ``spacing`` in nm (one number or a (z, y, x)
tuple; taken from a ``Volume`` when not given). Defaults are those of
``sxtseg run``; each stage's own config dataclass holds them.

===================  ==================================================  =========================
function             does                                                returns
===================  ==================================================  =========================
:func:`segment`      membrane probabilities and mask (the network)       :class:`Segmentation`
:func:`objects`      instance labels from a mask                         uint32 (Z, Y, X)
:func:`measure`      one row per object in nm (``sxtseg measure``)       ``pandas.DataFrame``
:func:`surfaces`     one closed surface per object in nm                 list of ``trimesh.Trimesh``
:func:`train_model`  train or fine-tune a network (``sxtseg train``)     ``TrainResult``
:func:`load_model`   a model folder or the bundled model                 ``LoadedModel``
===================  ==================================================  =========================

All are re-exported at the top level (``sxtseg.segment`` ...)::

    import sxtseg
    seg = sxtseg.segment(tomogram, spacing=10.0)     # or a Volume, which brings its spacing
    labels = sxtseg.objects(seg)                     # a Segmentation brings mask and spacing
    table = sxtseg.measure(labels, spacing=10.0)
    meshes = sxtseg.surfaces(labels, spacing=10.0)

The functions live in :mod:`sxtseg.api_segment`, :mod:`sxtseg.api_objects`
and :mod:`sxtseg.api_train` (their docstrings' examples run as doctests).
Importing this module imports neither torch nor scipy; :func:`segment`,
:func:`train_model` and :func:`load_model` import torch when called.
"""

from __future__ import annotations

from sxtseg.api_objects import measure, objects, surfaces
from sxtseg.api_segment import Segmentation, SpacingLike, segment
from sxtseg.api_train import load_model, train_model

__all__ = [
    "Segmentation",
    "SpacingLike",
    "load_model",
    "measure",
    "objects",
    "segment",
    "surfaces",
    "train_model",
]
