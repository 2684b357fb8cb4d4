"""What the sxtseg widgets share: layer pickers kept in sync with the viewer, layer updates."""

from __future__ import annotations

from typing import Any

from magicgui.widgets import ComboBox, Container

from sxtseg.napari._layers import layer_origin, layer_voxel_size, volume_kwargs

__all__ = ["LayerPicker", "WidgetBase", "put_layer", "record_of"]


def record_of(layer: Any) -> dict[str, Any]:
    """``layer.metadata["sxtseg"]``, created when missing."""
    return layer.metadata.setdefault("sxtseg", {})


class LayerPicker(ComboBox):
    """A drop-down of the viewer's layers of some types, by name.

    Parameters
    ----------
    viewer : napari.Viewer
    kinds : tuple of str
        Layer class names ("Image", "Labels").
    label : str
    """

    def __init__(self, viewer: Any, kinds: tuple[str, ...], label: str, **kw: Any) -> None:
        self._viewer = viewer
        self._kinds = kinds
        super().__init__(label=label, choices=self._names, nullable=False, **kw)

    def _names(self, *_: Any) -> list[str]:
        return [lay.name for lay in self._viewer.layers if type(lay).__name__ in self._kinds]

    def layer(self) -> Any:
        """The chosen layer; ValueError when there is none."""
        self.reset_choices()
        name = self.value
        if name is None or name not in self._viewer.layers:
            raise ValueError(f"choose a {' or '.join(self._kinds).lower()} layer first")
        return self._viewer.layers[name]


class WidgetBase(Container):
    """A magicgui container bound to a viewer, whose pickers follow the layer list."""

    def __init__(self, viewer: Any, **kw: Any) -> None:
        super().__init__(**kw)
        self.viewer = viewer
        events = viewer.layers.events
        for ev in (events.inserted, events.removed, events.moved):
            ev.connect(self._refresh)

    def _refresh(self, *_: Any) -> None:
        self.reset_choices()


def put_layer(viewer: Any, kind: str, data: Any, *, name: str, like: Any, **extra: Any) -> Any:
    """Add a layer in the frame (voxel size, origin) of ``like``, or replace its data.

    Parameters
    ----------
    viewer : napari.Viewer
    kind : {"image", "labels"}
    data : ndarray, shape (Z, Y, X)
    name : str
        An existing layer of this name and kind gets the new data.
    like : Layer
        Whose voxel size and origin the new layer takes.
    **extra
        Layer keywords for a new layer.

    Returns
    -------
    Layer
    """
    voxel = layer_voxel_size(like)
    kw = volume_kwargs(voxel, layer_origin(like), name=name, **extra)
    if name in viewer.layers and type(viewer.layers[name]).__name__.lower() == kind:
        layer = viewer.layers[name]
        layer.data = data
        layer.scale = kw["scale"]
        layer.translate = kw["translate"]
        record_of(layer).update(kw["metadata"]["sxtseg"])
        return layer
    add = viewer.add_image if kind == "image" else viewer.add_labels
    return add(data, **kw)
