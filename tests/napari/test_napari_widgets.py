"""The widgets end to end in a real (virtual-display) napari viewer on a simulated tomogram."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from napari_helpers import add_layers

TIMEOUT_MS = 180_000


def _wait(qtbot: Any, widget: Any) -> None:
    qtbot.waitUntil(lambda: not widget.jobs.busy, timeout=TIMEOUT_MS)
    assert widget.jobs.last_error is None, widget.jobs.last_error


def test_sample_data_opens_in_nm(make_napari_viewer: Any) -> None:
    viewer = make_napari_viewer()
    layers = viewer.open_sample("sxtseg", "simulated")
    names = [lay.name for lay in layers]
    assert names == ["simulated tomogram", "membranes (truth)", "flat membranes (truth)"]
    tomo = viewer.layers["simulated tomogram"]
    assert tomo.data.shape == (16, 96, 96) and tomo.data.dtype == np.float32
    assert tuple(tomo.scale) == pytest.approx((9.8, 9.8, 9.8))
    assert [str(u) for u in tomo.units] == ["nanometer"] * 3
    assert tuple(tomo.axis_labels) == ("z", "y", "x")
    assert type(viewer.layers["membranes (truth)"]).__name__ == "Labels"


def test_segment_widget_adds_probabilities_and_mask(
    make_napari_viewer: Any, qtbot: Any, sample_layers: list, one_torch_thread: None
) -> None:
    from sxtseg.infer import SegmentConfig, resolve_model, segment_array
    from sxtseg.napari._segment import SegmentWidget

    viewer = make_napari_viewer()
    add_layers(viewer, sample_layers[:1])
    widget = SegmentWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.device.value = "cpu"
    assert widget.image.value == "simulated tomogram"
    widget.start()
    _wait(qtbot, widget)
    prob = viewer.layers["simulated tomogram probabilities"]
    mask = viewer.layers["simulated tomogram mask"]
    assert type(prob).__name__ == "Image" and type(mask).__name__ == "Labels"
    assert prob.data.dtype == np.float32 and mask.data.dtype == np.uint8
    for layer in (prob, mask):
        assert layer.data.shape == (16, 96, 96)
        assert tuple(layer.scale) == pytest.approx((9.8, 9.8, 9.8))
    model = resolve_model("default")
    expected = segment_array(sample_layers[0][0], model, config=SegmentConfig(device="cpu"),
                             voxel_size=(9.8, 9.8, 9.8))  # fmt: skip
    np.testing.assert_allclose(prob.data, expected, atol=1e-5)
    t = SegmentConfig().threshold_for(model.threshold)
    np.testing.assert_array_equal(mask.data, (expected >= t).astype(np.uint8))
    record = viewer.layers["simulated tomogram"].metadata["sxtseg"]["segment"]
    assert record["model"] == "default" and record["threshold_used"] == pytest.approx(t)
    # a manual threshold re-thresholds the kept probabilities without a new run
    widget.model_threshold.value = False
    widget.threshold.value = 0.3
    np.testing.assert_array_equal(mask.data, (expected >= 0.3).astype(np.uint8))


def test_segment_can_be_cancelled(
    make_napari_viewer: Any, qtbot: Any, sample_layers: list, one_torch_thread: None
) -> None:
    from sxtseg.napari._segment import SegmentWidget

    viewer = make_napari_viewer()
    add_layers(viewer, sample_layers[:1])
    widget = SegmentWidget(viewer)
    widget.device.value, widget.axes.value, widget.tta.value = "cpu", "all", True
    widget.start()
    widget.jobs.request_cancel()
    qtbot.waitUntil(lambda: not widget.jobs.busy, timeout=TIMEOUT_MS)
    assert widget.jobs.status.value.endswith("cancelled")
    assert "simulated tomogram mask" not in viewer.layers


def test_objects_widget_matches_measure_cli(
    make_napari_viewer: Any, qtbot: Any, sample_layers: list, tmp_path: Path
) -> None:
    from sxtseg.cli import main
    from sxtseg.napari._objects import ObjectsWidget

    viewer = make_napari_viewer(show=True)  # a hidden window renders black screenshots
    add_layers(viewer, sample_layers[:2])
    truth = viewer.layers["membranes (truth)"]
    widget = ObjectsWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.mask.value = truth.name
    widget.start()
    _wait(qtbot, widget)
    out = widget.result
    assert out is not None and len(out.table) >= 2
    surface = viewer.layers["membranes (truth) surfaces"]
    verts, _, values = surface.data[:3]
    assert len(verts) == sum(len(m.vertices) for m in out.meshes)
    assert set(np.unique(values).astype(int)) == set(out.table["id"])
    # vertices are (z, y, x) nm: inside the volume's extent in nm
    extent = np.array(truth.data.shape) * 9.8
    assert (verts.min(axis=0) > -9.8).all() and (verts.max(axis=0) < extent + 9.8).all()
    objects = viewer.layers["membranes (truth) objects"]
    assert tuple(objects.scale) == pytest.approx((9.8, 9.8, 9.8))
    # the table equals `sxtseg measure` on the same mask
    truth_path = tmp_path / "truth.mrc"
    from sxtseg.napari._writer import write_labels

    write_labels(str(truth_path), truth.data, truth.as_layer_data_tuple()[1])
    assert main(["measure", str(truth_path), "-o", str(tmp_path / "cli.csv")]) == 0
    cli = pd.read_csv(tmp_path / "cli.csv")
    table = widget.table_widget
    assert table is not None and table.view.rowCount() == len(cli)
    table.export(tmp_path / "widget.csv")
    mine = pd.read_csv(tmp_path / "widget.csv")
    assert list(mine.columns) == list(cli.columns)
    pd.testing.assert_frame_equal(mine, cli, rtol=1e-6)
    # sortable, and a click centres the camera on the object
    assert table.view.isSortingEnabled()
    table.view.sortItems(list(cli.columns).index("volume_nm3"))
    obj_id = table.object_id(0)
    assert obj_id == int(cli.sort_values("volume_nm3")["id"].iloc[0])
    table.view.cellClicked.emit(0, 0)
    row = cli[cli["id"] == obj_id].iloc[0]
    centre = (row["centroid_z_nm"], row["centroid_y_nm"], row["centroid_x_nm"])
    assert tuple(viewer.camera.center) == pytest.approx(centre)
    assert objects.selected_label == obj_id
    # a screenshot of the result is not blank
    shot = viewer.screenshot(canvas_only=True, flash=False)
    assert shot.ndim == 3 and shot.shape[2] == 4 and min(shot.shape[:2]) > 100
    rgb = shot[..., :3].reshape(-1, 3)
    assert rgb.std() > 5 and len(np.unique(rgb, axis=0)) > 20


def test_labels_layer_saves_with_voxel_size(make_napari_viewer: Any, tmp_path: Path) -> None:
    from sxtseg.io import read_volume

    viewer = make_napari_viewer()
    labels = np.zeros((3, 20, 24), np.uint8)
    labels[1, 5:9, 6:12] = 2
    viewer.add_labels(labels, name="painted", scale=(30.0, 12.0, 12.0), units=("nm",) * 3)
    viewer.layers.selection = {viewer.layers["painted"]}
    for name in ("painted.mrc", "painted.tif", "painted.zarr"):
        [written] = viewer.layers.save(str(tmp_path / name), selected=True, plugin="sxtseg")
        back = read_volume(written)
        assert back.voxel_size == pytest.approx((30.0, 12.0, 12.0), rel=1e-5)
        np.testing.assert_array_equal(back.data, labels)


def test_finetune_widget_trains_and_resegments(
    make_napari_viewer: Any, qtbot: Any, sample_layers: list, tmp_path: Path,
    one_torch_thread: None,
) -> None:  # fmt: skip
    from sxtseg.infer import SegmentConfig, resolve_model, segment_array
    from sxtseg.napari._finetune import FinetuneWidget

    viewer = make_napari_viewer()
    add_layers(viewer, sample_layers[:2])
    widget = FinetuneWidget(viewer)
    viewer.window.add_dock_widget(widget)
    painted = widget.add_labels_layer()
    assert painted.data.shape == (16, 96, 96)
    assert tuple(painted.scale) == pytest.approx((9.8, 9.8, 9.8))
    truth = np.asarray(viewer.layers["membranes (truth)"].data)
    for z in (5, 10):  # two painted slices: membrane 1, background 2; the rest stays 0
        painted.data[z] = np.where(truth[z] > 0, 1, 2)
    widget.max_steps.value = 3
    widget.out_dir.value = str(tmp_path / "models")
    widget.train_options = {"crop": 32, "batch_size": 2, "threads": 1, "device": "cpu",
                            "steps_per_epoch": 2, "seed": 1}  # fmt: skip
    widget.start()
    _wait(qtbot, widget)
    out = widget.result
    assert out is not None and out.steps == 3 and out.slices == [5, 10]
    assert out.model_dir == tmp_path / "models" / "round_01"
    assert (out.model_dir / "model.safetensors").is_file()
    before = resolve_model("default").module.state_dict()
    after = resolve_model(str(out.model_dir)).module.state_dict()
    changed = [k for k in before if k in after and not np.allclose(before[k], after[k])]
    assert changed, "fine-tuning left every weight as it was"
    # the mask was recomputed with the new model, which is now the tomogram's model
    record = viewer.layers["simulated tomogram"].metadata["sxtseg"]["segment"]
    assert record["model"] == str(out.model_dir)
    new = resolve_model(str(out.model_dir))
    expected = segment_array(sample_layers[0][0], new, config=SegmentConfig(device="cpu"),
                             voxel_size=(9.8, 9.8, 9.8))  # fmt: skip
    mask = viewer.layers["simulated tomogram mask"]
    t = SegmentConfig().threshold_for(new.threshold)
    np.testing.assert_array_equal(mask.data, (expected >= t).astype(np.uint8))
    assert t == pytest.approx(resolve_model("default").threshold or 0.9)
