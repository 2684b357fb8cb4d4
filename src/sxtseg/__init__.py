"""sxtseg: membranes, surfaces and measurements in nm from cryo-soft X-ray tomograms.

The front door is small and imports nothing heavy (no torch):

>>> import sxtseg
>>> vol = sxtseg.read_volume("tomogram.mrc")          # doctest: +SKIP
>>> vol.data.shape, vol.voxel_size                    # doctest: +SKIP
((64, 256, 256), (9.8, 9.8, 9.8))

The notebook API (:mod:`sxtseg.api`), imported on first use:
``sxtseg.segment``, ``objects``, ``measure``, ``surfaces``, ``train_model``
and ``load_model``.

Subpackages follow the layers described in ``docs/architecture.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sxtseg._version import __version__

__all__ = [
    "InputError",
    "Segmentation",
    "Volume",
    "__version__",
    "load_model",
    "measure",
    "objects",
    "open_volume",
    "read_volume",
    "segment",
    "surfaces",
    "train_model",
    "write_volume",
]

#: The notebook front door (``sxtseg.api``), imported on first use.
_API = {"Segmentation", "load_model", "measure", "objects", "segment", "surfaces", "train_model"}

if TYPE_CHECKING:  # pragma: no cover
    from sxtseg.api import (
        Segmentation,
        load_model,
        measure,
        objects,
        segment,
        surfaces,
        train_model,
    )
    from sxtseg.errors import InputError
    from sxtseg.io import open_volume, read_volume, write_volume
    from sxtseg.types import Volume


def __getattr__(name: str) -> Any:
    # Lazy re-exports keep ``import sxtseg`` fast.
    if name in {"open_volume", "read_volume", "write_volume"}:
        from sxtseg import io

        return getattr(io, name)
    if name in _API:
        from sxtseg import api

        return getattr(api, name)
    if name == "Volume":
        from sxtseg.types import Volume

        return Volume
    if name == "InputError":
        from sxtseg.errors import InputError

        return InputError
    raise AttributeError(f"module 'sxtseg' has no attribute {name!r}")
