"""The Objects & surfaces widget: compartments, surfaces in nm and the measurement table."""

from __future__ import annotations

from typing import Any

from magicgui.widgets import ComboBox, FloatSpinBox, PushButton, SpinBox

from sxtseg.napari._jobs import JobPanel
from sxtseg.napari._layers import AXIS_LABELS, layer_origin, layer_voxel_size, meshes_to_surface
from sxtseg.napari._widget_base import LayerPicker, WidgetBase, put_layer, record_of
from sxtseg.napari._work import ObjectsOutput, objects_and_surfaces

__all__ = ["ObjectsWidget"]


class ObjectsWidget(WidgetBase):
    """Objects from a mask, their surfaces (Surface layer, nm) and measurements (table dock).

    The steps and defaults are those of ``sxtseg measure`` / ``sxtseg
    surfaces``, so the table equals the command's for the same mask.

    Parameters
    ----------
    napari_viewer : napari.Viewer
    """

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__(napari_viewer)
        self.mask = LayerPicker(napari_viewer, ("Labels",), "mask")
        self.mode = ComboBox(label="mask kind", choices=("auto", "outlines", "filled"),
                             value="auto",
                             tooltip="outlines: membranes enclosing compartments; "
                             "filled: solid objects")  # fmt: skip
        self.min_volume = FloatSpinBox(label="min volume (µm³)", min=0.0, max=1e6, step=0.001,
                                       value=0.0, tooltip="0 keeps every object")  # fmt: skip
        self.smooth = SpinBox(label="smoothing", min=0, max=200, value=15,
                              tooltip="Taubin smoothing pairs of the surfaces")  # fmt: skip
        self.run_button = PushButton(text="Objects and surfaces")
        self.jobs = JobPanel()
        self.extend([self.mask, self.mode, self.min_volume, self.smooth, self.run_button,
                     self.jobs])  # fmt: skip
        self.run_button.changed.connect(self.start)
        self.table_widget: Any = None
        self.result: ObjectsOutput | None = None

    def objects_config(self) -> Any:
        """An :class:`~sxtseg.morphometry.ObjectsConfig` from the widget."""
        from sxtseg.morphometry import ObjectsConfig

        vmin = float(self.min_volume.value)
        return ObjectsConfig(mode=str(self.mode.value),
                             min_volume_nm3=vmin * 1e9 if vmin > 0 else None)  # fmt: skip

    def start(self, *_: Any) -> Any:
        """Make objects, surfaces and the table in a worker thread; returns the worker."""
        layer = self.mask.layer()
        voxel = layer_voxel_size(layer)
        if voxel is None:
            self.jobs.status.value = f"{layer.name} has no voxel size in nm: open it with sxtseg"
            raise ValueError(self.jobs.status.value)
        self.run_button.enabled = False
        return self.jobs.start(
            "objects", objects_and_surfaces, layer.data, voxel_size=voxel,
            origin=layer_origin(layer), objects=self.objects_config(),
            smooth_iterations=int(self.smooth.value),
            on_result=lambda out: self._done(layer, out),
            on_end=lambda: setattr(self.run_button, "enabled", True),
        )  # fmt: skip

    def _done(self, mask: Any, out: ObjectsOutput) -> None:
        self.result = out
        base = mask.name[: -len(" mask")] if mask.name.endswith(" mask") else mask.name
        inst = put_layer(self.viewer, "labels", out.instances, name=f"{base} objects", like=mask,
                         opacity=0.4)  # fmt: skip
        record_of(inst)["objects"] = {"mask": mask.name, "count": len(out.table)}
        name = f"{base} surfaces"
        if name in self.viewer.layers:
            self.viewer.layers.remove(name)
        if len(out.table):
            data, colors = meshes_to_surface(out.meshes)
            self.viewer.add_surface(
                data, vertex_colors=colors, name=name, units=("nm", "nm", "nm"),
                axis_labels=AXIS_LABELS, metadata={"sxtseg": {"ids": out.table["id"].tolist()}},
            )  # fmt: skip
        self._show_table(out, inst)

    def _show_table(self, out: ObjectsOutput, instances: Any) -> None:
        from sxtseg.napari._table import MeasurementTable

        if self.table_widget is None:
            self.table_widget = MeasurementTable(self.viewer, out.table, instances=instances)
            window = getattr(self.viewer, "window", None)
            if window is not None and hasattr(window, "add_dock_widget"):
                window.add_dock_widget(self.table_widget, name="sxtseg measurements",
                                       area="right")  # fmt: skip
        else:
            self.table_widget.set_table(out.table, instances=instances)
