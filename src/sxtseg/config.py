"""Helpers shared by the per-stage configuration dataclasses.

Each stage keeps its defaults in exactly one frozen dataclass next to its code
(``sxtseg.model.config.ModelConfig``, ``sxtseg.train.config.TrainConfig``,
``sxtseg.infer.config.SegmentConfig``, ``sxtseg.simulate.profiles``...). CLI flags
and YAML files fill those dataclasses through :func:`from_mapping`; nothing
else writes defaults out again.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from sxtseg.errors import InputError

__all__ = ["from_mapping", "load_yaml", "to_dict"]

T = TypeVar("T")


def from_mapping(cls: type[T], values: Mapping[str, Any] | None = None, **overrides: Any) -> T:
    """Build a config dataclass from a mapping plus keyword overrides.

    ``None`` overrides are ignored, so CLI options left unset keep the
    dataclass defaults.

    Raises
    ------
    InputError
        Unknown keys, and every value the dataclass rejects: each config
        raises :class:`InputError` for values out of range, and a value of the
        wrong type (a ``TypeError`` or ``ValueError`` while checking it) is
        turned into one here, so a bad YAML file or option is exit status 2
        with one line, never an internal error.
    """
    merged: dict[str, Any] = dict(values or {})
    merged.update({k: v for k, v in overrides.items() if v is not None})
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(merged) - names)
    if unknown:
        raise InputError(f"unknown {cls.__name__} setting(s): {', '.join(unknown)}")
    try:
        return cls(**merged)
    except InputError:
        raise
    except (TypeError, ValueError) as exc:
        wrong = _wrong_types(cls, merged)
        if wrong:
            raise InputError(f"{cls.__name__}: {'; '.join(wrong)}") from None
        raise InputError(f"{cls.__name__}: invalid setting ({exc})") from None


_SIMPLE: dict[Any, tuple[type, ...]] = {
    int: (int,),
    float: (int, float),
    str: (str,),
    bool: (bool,),
    type(None): (type(None),),
}


def _wrong_types(cls: type, values: Mapping[str, Any]) -> list[str]:
    """``"name must be int, got 'x'"`` for each value that cannot be its field's simple type.

    Only fields typed with ``int``, ``float``, ``str``, ``bool`` or unions of
    them (and ``None``) are checked; anything else is left to the dataclass.
    """
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):  # a diagnosis only; the caller has a fallback message
        return []
    out = []
    for name, value in values.items():
        hint = hints.get(name)
        members = typing.get_args(hint) if typing.get_origin(hint) in _UNIONS else (hint,)
        if not all(m in _SIMPLE for m in members):
            continue
        accepted = tuple(t for m in members for t in _SIMPLE[m])
        is_bool = isinstance(value, bool)
        if not isinstance(value, accepted) or (is_bool and bool not in accepted):
            names = " or ".join("None" if m is type(None) else m.__name__ for m in members)
            out.append(f"{name} must be {names}, got {value!r}")
    return out


_UNIONS = (typing.Union, types.UnionType)


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
