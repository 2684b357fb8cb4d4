"""The Fine-tune widget: paint a few slices, train the current model on them, segment again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from magicgui.types import FileDialogMode
from magicgui.widgets import FileEdit, FloatSpinBox, Label, PushButton, SpinBox

from sxtseg.napari._finetune_work import BACKGROUND, MEMBRANE, FinetuneOutput, finetune_volume
from sxtseg.napari._jobs import JobPanel
from sxtseg.napari._layers import layer_voxel_size
from sxtseg.napari._segment import apply_result, current_model, segment_settings
from sxtseg.napari._widget_base import LayerPicker, WidgetBase, put_layer, record_of

__all__ = ["FinetuneWidget"]

_SEGMENT_KEYS = ("threshold", "tta", "axes", "device")


class FinetuneWidget(WidgetBase):
    """Fine-tune the tomogram's current model on painted slices, then re-segment.

    Paint membrane with label 1 and background with label 2 on a few slices
    of a Labels layer (*New labels layer* makes one in the tomogram's frame);
    unpainted pixels (0) are ignored. Training starts from the model the
    tomogram was last segmented with (the bundled one at first), runs for the
    chosen minutes on the painted slices plus the whole tomogram as
    unlabelled data, and the tomogram is segmented again with the new model,
    which becomes its current model. Repeat as needed.

    Parameters
    ----------
    napari_viewer : napari.Viewer
    """

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__(napari_viewer)
        self.image = LayerPicker(napari_viewer, ("Image",), "tomogram")
        self.painted = LayerPicker(
            napari_viewer,
            ("Labels",),
            "painted labels",
            tooltip="1 = membrane, 2 = background, 0 = not painted",
        )
        self.new_labels = PushButton(text="New labels layer")
        self.minutes = FloatSpinBox(label="minutes", min=0.1, max=600.0, step=0.5, value=2.0)
        self.max_steps = SpinBox(label="max steps", min=0, max=1_000_000, value=0,
                                 tooltip="0 = no limit (the minutes decide)")  # fmt: skip
        self.out_dir = FileEdit(
            label="save models in",
            mode=FileDialogMode.EXISTING_DIRECTORY,
            tooltip="Empty: a temporary folder; each run adds round_NN",
        )
        self.run_button = PushButton(text="Fine-tune and re-segment")
        self.info = Label(value="")
        self.jobs = JobPanel()
        self.extend([self.image, self.painted, self.new_labels, self.minutes, self.max_steps,
                     self.out_dir, self.run_button, self.info, self.jobs])  # fmt: skip
        self.new_labels.changed.connect(self.add_labels_layer)
        self.run_button.changed.connect(self.start)
        self.train_options: dict[str, Any] = {}
        self.result: FinetuneOutput | None = None
        self._base: str | None = None

    def add_labels_layer(self, *_: Any) -> Any:
        """An empty Labels layer in the tomogram's frame, ready to paint membrane (1)."""
        image = self.image.layer()
        shape = tuple(int(n) for n in image.data.shape)
        layer = put_layer(self.viewer, "labels", np.zeros(shape, dtype=np.uint8),
                          name=f"{image.name} painted", like=image)  # fmt: skip
        layer.selected_label = MEMBRANE
        layer.mode = "paint"
        self.painted.reset_choices()
        self.painted.value = layer.name
        self.info.value = f"paint {MEMBRANE} = membrane, {BACKGROUND} = background"
        return layer

    def model_base(self) -> str:
        """Folder the ``round_NN`` models go to."""
        text = str(self.out_dir.line_edit.value).strip()
        if text:
            return str(Path(text).expanduser())
        if self._base is None:
            import tempfile

            self._base = tempfile.mkdtemp(prefix="sxtseg-finetune-")
        return self._base

    def start(self, *_: Any) -> Any:
        """Fine-tune and re-segment in a worker thread; returns the worker."""
        from sxtseg.infer import SegmentConfig
        from sxtseg.napari._finetune_work import next_model_dir

        image, labels = self.image.layer(), self.painted.layer()
        if tuple(labels.data.shape) != tuple(image.data.shape):
            raise ValueError(f"{labels.name} and {image.name} differ in shape")
        previous = segment_settings(image)
        settings = {k: previous[k] for k in _SEGMENT_KEYS if k in previous}
        model = current_model(image)
        steps = int(self.max_steps.value) or None
        self.run_button.enabled = False
        return self.jobs.start(
            "fine-tuning", finetune_volume, image.data, np.array(labels.data, copy=True),
            voxel_size=layer_voxel_size(image), model=model,
            minutes=float(self.minutes.value), max_steps=steps,
            out_dir=next_model_dir(self.model_base()), segment=SegmentConfig(**settings),
            on_result=lambda out: self._done(image, out, settings),
            on_end=lambda: setattr(self.run_button, "enabled", True),
            **self.train_options,
        )  # fmt: skip

    def _done(self, image: Any, out: FinetuneOutput, settings: dict[str, Any]) -> None:
        self.result = out
        apply_result(self.viewer, image, out.segmentation, settings)
        record_of(image).setdefault("finetune", []).append(
            {"model": str(out.model_dir), "steps": out.steps, "slices": out.slices}
        )
        self.info.value = (f"{out.steps} steps on {len(out.slices)} slices -> "
                           f"{out.model_dir}")  # fmt: skip
