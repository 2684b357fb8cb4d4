"""The two-headed network (PyTorch nn.Modules only; no I/O, no losses).

- :class:`~sxtseg.model.config.ModelConfig`, :data:`~sxtseg.model.config.PRESETS`
- :func:`build_model` -> :class:`DoubleDecoderNet`; ``net(x)`` -> :class:`ModelOutput`
  ``(label, image)``; ``net.predict_label(x)`` runs the label path only.
- :func:`~sxtseg.model.cost.model_cost` / :func:`~sxtseg.model.cost.preset_table`:
  parameters and multiply-adds.

Importing this package imports torch.
"""

from __future__ import annotations

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
    "ModelConfig",
    "ModelOutput",
    "build_model",
    "label_probability",
]
