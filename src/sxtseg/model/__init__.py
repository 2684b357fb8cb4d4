"""The two-headed network: nn.Modules, presets, and model folders on disk; no losses.

- :class:`~sxtseg.model.config.ModelConfig`, :data:`~sxtseg.model.config.PRESETS`
- :func:`build_model` -> :class:`DoubleDecoderNet`; ``net(x)`` -> :class:`ModelOutput`
  ``(label, image)``; ``net.predict_label(x)`` runs the label path only.
- :func:`load_model` / :func:`save_model` -> :class:`LoadedModel`: a model folder
  (``model.safetensors`` + ``config.json``; :mod:`sxtseg.model.checkpoint`), with the
  file handling in :mod:`sxtseg.io.checkpoint`.
- :func:`~sxtseg.model.cost.model_cost` / :func:`~sxtseg.model.cost.preset_table`:
  parameters and multiply-adds.

Importing this package imports torch.
"""

from __future__ import annotations

from sxtseg.model.checkpoint import LoadedModel, load_model, resolve_model_dir, save_model
from sxtseg.model.config import LABEL_OUTPUTS, PRESETS, ModelConfig
from sxtseg.model.network import (
    DIVISOR,
    DoubleDecoderNet,
    ModelOutput,
    build_model,
    label_probability,
)

__all__ = [
    "DIVISOR",
    "LABEL_OUTPUTS",
    "PRESETS",
    "DoubleDecoderNet",
    "LoadedModel",
    "ModelConfig",
    "ModelOutput",
    "build_model",
    "label_probability",
    "load_model",
    "resolve_model_dir",
    "save_model",
]
