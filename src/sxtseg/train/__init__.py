"""Training the two-headed network (torch): data, augmentation, losses, loop, checkpoints.

- :mod:`sxtseg.train.config` — :class:`TrainConfig`, the one set of defaults.
- :mod:`sxtseg.train.checkpoint` — :func:`save_model`, :func:`load_model` (model folders).
- :mod:`sxtseg.train.loop` — :func:`train` (semisupervised protocol).
- :mod:`sxtseg.train.export` — ONNX / TorchScript export.

Submodules are imported on use; importing this package is cheap.
"""

from __future__ import annotations

__all__: list[str] = []
