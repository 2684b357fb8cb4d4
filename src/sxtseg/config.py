"""Helpers shared by the per-stage configuration dataclasses.

Each stage keeps its defaults in exactly one frozen dataclass next to its code
(``sxtseg.model.config.ModelConfig``, ``sxtseg.train.config.TrainConfig``,
``sxtseg.infer.config.SegmentConfig``, ``sxtseg.simulate.profiles``...). CLI flags
and YAML files fill those dataclasses through :func:`from_mapping`; nothing
else writes defaults out again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from sxtseg.errors import InputError

__all__ = ["from_mapping", "load_yaml", "to_dict"]

T = TypeVar("T")


def from_mapping(cls: type[T], values: Mapping[str, Any] | None = None, **overrides: Any) -> T:
    """Build a config dataclass from a mapping plus keyword overrides.

    ``None`` overrides are ignored, so CLI options left unset keep the
    dataclass defaults. Unknown keys raise :class:`InputError`.
    """
    merged: dict[str, Any] = dict(values or {})
    merged.update({k: v for k, v in overrides.items() if v is not None})
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(merged) - names)
    if unknown:
        raise InputError(f"unknown {cls.__name__} setting(s): {', '.join(unknown)}")
    return cls(**merged)


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (possibly nested) config dataclass."""
    return dataclasses.asdict(config)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping from ``path`` with one-line errors."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"{p}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise InputError(f"{p}: expected a mapping of settings")
    return data
