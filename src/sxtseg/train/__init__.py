"""Training the two-headed network (torch): data, augmentation, losses, loop, checkpoints.

- :mod:`sxtseg.train.config` — :class:`TrainConfig`, the one set of defaults.
- :mod:`sxtseg.train.checkpoint` — old home of :func:`~sxtseg.model.save_model` and
  :func:`~sxtseg.model.load_model` (now in :mod:`sxtseg.model.checkpoint`), re-exported.
- :mod:`sxtseg.train.loop` — :func:`train` (semisupervised protocol).
- :mod:`sxtseg.train.export` — ONNX / TorchScript export.

Submodules are imported on use; importing this package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["LoadedModel", "TrainConfig", "TrainResult", "load_model", "save_model", "train"]

if TYPE_CHECKING:  # pragma: no cover
    from sxtseg.model.checkpoint import LoadedModel, load_model, save_model
    from sxtseg.train.config import TrainConfig
    from sxtseg.train.loop import TrainResult, train

#: Public name -> the module that defines it (imported on first use). Model folders are
#: read and written by :mod:`sxtseg.model.checkpoint`; they are re-exported here because
#: training is where they are made.
_HOME = {
    "LoadedModel": "sxtseg.model.checkpoint",
    "load_model": "sxtseg.model.checkpoint",
    "save_model": "sxtseg.model.checkpoint",
    "TrainConfig": "sxtseg.train.config",
    "TrainResult": "sxtseg.train.loop",
    "train": "sxtseg.train.loop",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        from importlib import import_module

        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module 'sxtseg.train' has no attribute {name!r}")
