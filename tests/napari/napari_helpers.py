"""Helpers of the napari tests."""

from __future__ import annotations

from typing import Any


def add_layers(viewer: Any, layers: list[tuple[Any, dict[str, Any], str]]) -> list[Any]:
    """Add layer-data tuples to a viewer (copies of the kwargs, so fixtures stay clean)."""
    import copy

    out = []
    for data, kw, kind in layers:
        kw = copy.deepcopy(kw)
        out.append(getattr(viewer, f"add_{kind}")(data, **kw))
    return out
