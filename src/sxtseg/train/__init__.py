"""Training the two-headed network (torch): data, augmentation, losses, loop, checkpoints.

- :mod:`sxtseg.train.config` — :class:`TrainConfig`, the one set of defaults.
- :mod:`sxtseg.train.checkpoint` — old home of :func:`~sxtseg.model.save_model` and
  :func:`~sxtseg.model.load_model` (now in :mod:`sxtseg.model.checkpoint`), re-exported.
- :mod:`sxtseg.train.loop` — :func:`train` (semisupervised protocol).
- :mod:`sxtseg.train.export` — ONNX / TorchScript export.

Submodules are imported on use; importing this package is cheap.
"""

from __future__ import annotations

__all__: list[str] = []
