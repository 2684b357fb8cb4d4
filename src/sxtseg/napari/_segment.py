"""The Segment widget: membrane probabilities and mask of a tomogram layer, in nm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from magicgui.types import FileDialogMode
from magicgui.widgets import CheckBox, ComboBox, FileEdit, FloatSlider, Label, PushButton

from sxtseg.napari._jobs import JobPanel
from sxtseg.napari._layers import layer_voxel_size
from sxtseg.napari._widget_base import LayerPicker, WidgetBase, put_layer, record_of
from sxtseg.napari._work import SegmentOutput, segment_volume

__all__ = ["SegmentWidget", "current_model", "segment_settings"]

_DEVICES = ("auto", "cpu", "cuda")


def current_model(image_layer: Any) -> str:
    """The model a tomogram layer was last segmented or fine-tuned with ("default" if none)."""
    rec = (image_layer.metadata or {}).get("sxtseg") or {}
    return str((rec.get("segment") or {}).get("model") or "default")


def segment_settings(image_layer: Any) -> dict[str, Any]:
    """The settings of the tomogram layer's last segmentation (empty dict if none)."""
    rec = (image_layer.metadata or {}).get("sxtseg") or {}
    return dict(rec.get("segment") or {})


def apply_result(viewer: Any, image: Any, out: SegmentOutput, settings: dict[str, Any]) -> None:
    """Add (or update) ``<image> probabilities`` and ``<image> mask`` in the image's frame.

    The settings, the model used and the threshold go to the image layer's
    ``metadata["sxtseg"]["segment"]``.
    """
    prob = put_layer(viewer, "image", out.probabilities, name=f"{image.name} probabilities",
                     like=image, colormap="magma", blending="additive", opacity=0.6,
                     contrast_limits=(0.0, 1.0))  # fmt: skip
    mask = put_layer(viewer, "labels", out.mask, name=f"{image.name} mask", like=image,
                     opacity=0.6)  # fmt: skip
    record = {**settings, "model": out.model, "threshold_used": out.threshold,
              "probabilities": prob.name, "mask": mask.name}  # fmt: skip
    record_of(image)["segment"] = record
    record_of(mask)["segment"] = record
    record_of(prob)["segment"] = record


class SegmentWidget(WidgetBase):
    """Segment membranes in a tomogram layer with the bundled or a trained model.

    Adds ``<tomogram> probabilities`` (image, float32 in [0, 1]) and
    ``<tomogram> mask`` (labels, uint8 0/1), both with the tomogram's voxel
    size as scale. Moving the threshold afterwards re-thresholds the kept
    probabilities at once.

    Parameters
    ----------
    napari_viewer : napari.Viewer
    """

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__(napari_viewer)
        self.image = LayerPicker(napari_viewer, ("Image",), "tomogram")
        self.model = FileEdit(
            label="model folder", mode=FileDialogMode.EXISTING_DIRECTORY,
            tooltip="Empty: the tomogram's current model (after fine-tuning) or the bundled "
            "one; 'default': the bundled model; or a folder written by 'sxtseg train'.",
        )  # fmt: skip
        self.model_threshold = CheckBox(text="model's calibrated threshold", value=True)
        self.threshold = FloatSlider(label="threshold", min=0.0, max=1.0, step=0.01, value=0.9,
                                     enabled=False)  # fmt: skip
        self.tta = CheckBox(text="test-time augmentation (8 flips, 8x slower)", value=False)
        self.axes = ComboBox(label="axes", choices=("xy", "xz", "yz", "all"), value="xy",
                             tooltip="Plane directions; 'all' averages the three.")  # fmt: skip
        self.device = ComboBox(label="device", choices=_DEVICES, value="auto")
        self.run_button = PushButton(text="Segment")
        self.info = Label(value="")
        self.jobs = JobPanel()
        self.extend([self.image, self.model, self.model_threshold, self.threshold, self.tta,
                     self.axes, self.device, self.run_button, self.info, self.jobs])  # fmt: skip
        self.model_threshold.changed.connect(self._toggle_threshold)
        self.threshold.changed.connect(self._rethreshold)
        self.run_button.changed.connect(self.start)
        self._last: tuple[Any, SegmentOutput] | None = None

    # -- settings ----------------------------------------------------------------------------
    def model_source(self, image: Any) -> str:
        """The model to use: the folder typed in, else the tomogram's current one."""
        text = str(self.model.line_edit.value).strip()
        if text:
            return text if text == "default" else str(Path(text).expanduser())
        return current_model(image)

    def settings(self) -> dict[str, Any]:
        """The segmentation settings as a plain dict (kept in the layer metadata)."""
        return {
            "threshold": None if self.model_threshold.value else float(self.threshold.value),
            "tta": bool(self.tta.value),
            "axes": str(self.axes.value),
            "device": str(self.device.value),
        }

    def config(self) -> Any:
        """A :class:`~sxtseg.infer.SegmentConfig` from the widget."""
        from sxtseg.infer import SegmentConfig

        return SegmentConfig(**self.settings())

    # -- running -----------------------------------------------------------------------------
    def start(self, *_: Any) -> Any:
        """Segment the chosen tomogram in a worker thread; returns the worker."""
        image = self.image.layer()
        settings = self.settings()
        model = self.model_source(image)
        self.run_button.enabled = False
        return self.jobs.start(
            "segmenting", segment_volume, image.data, voxel_size=layer_voxel_size(image),
            model=model, config=self.config(),
            on_result=lambda out: self._done(image, out, settings),
            on_end=lambda: setattr(self.run_button, "enabled", True),
        )  # fmt: skip

    def _done(self, image: Any, out: SegmentOutput, settings: dict[str, Any]) -> None:
        apply_result(self.viewer, image, out, settings)
        self._last = (image, out)
        self.info.value = f"model {Path(out.model).name}, threshold {out.threshold:.2f}"
        if self.model_threshold.value:
            with self.threshold.changed.blocked():
                self.threshold.value = round(out.threshold, 2)

    def _toggle_threshold(self, value: bool) -> None:
        self.threshold.enabled = not value
        if value and self._last is not None:
            from sxtseg.infer import SegmentConfig

            model_t = SegmentConfig().threshold_for(self._last[1].meta.get("threshold"))
            with self.threshold.changed.blocked():
                self.threshold.value = round(model_t, 2)
            self._rethreshold(model_t)

    def _rethreshold(self, value: float) -> None:
        """Recompute the mask from the kept probabilities (no new inference)."""
        if self._last is None or self.jobs.busy:
            return
        image, out = self._last
        name = record_of(image).get("segment", {}).get("mask")
        if name not in self.viewer.layers:
            return
        t = float(value)
        self.viewer.layers[name].data = (out.probabilities >= t).astype("uint8")
        record_of(image)["segment"]["threshold_used"] = t
        record_of(image)["segment"]["threshold"] = None if self.model_threshold.value else t
        self.info.value = f"model {Path(out.model).name}, threshold {t:.2f}"
