"""Model folders: moved to :mod:`sxtseg.model.checkpoint`; these names stay importable here.

Inference must not depend on training, so loading and saving a model folder
lives with the model. Import from :mod:`sxtseg.model` in new code.
"""

from __future__ import annotations

from sxtseg.model.checkpoint import (
    DEFAULT_MODEL_DIR,
    DEFAULT_THRESHOLD,
    LoadedModel,
    default_normalization,
    load_model,
    resolve_model_dir,
    save_model,
    versions,
)

__all__ = [
    "DEFAULT_MODEL_DIR",
    "DEFAULT_THRESHOLD",
    "LoadedModel",
    "default_normalization",
    "load_model",
    "resolve_model_dir",
    "save_model",
    "versions",
]
