"""Make docs/napari_screenshot.png: the napari plugin after Segment + Objects & surfaces.

Run under a (virtual) display, e.g.::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_napari_screenshot.py

It simulates a small yeast-cell tomogram, docks the Segment and Objects &
surfaces widgets, runs them as a user would (bundled model, the model's
threshold; objects from the predicted mask), and saves a screenshot of the
whole window: the tomogram slice with the mask, the 3D surfaces beside it
(grid view) and the measurement table.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger("make_napari_screenshot")


def _wait(widget: Any, timeout: float = 600.0) -> None:
    from qtpy.QtWidgets import QApplication

    t0 = time.monotonic()
    while widget.jobs.busy:
        QApplication.processEvents()
        time.sleep(0.05)
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{type(widget).__name__} did not finish")
    if widget.jobs.last_error is not None:
        raise widget.jobs.last_error


def main(argv: list[str] | None = None) -> Path:
    """Build the scene and write the screenshot; returns its path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent / "napari_screenshot.png",
    )
    parser.add_argument("--shape", default="24,160,160", help="Z,Y,X of the simulated tomogram")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--view", choices=("2d", "3d"), default="3d")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    # a throw-away settings file: the quiet notification level below is not kept
    os.environ["NAPARI_CONFIG"] = str(Path(tempfile.mkdtemp()) / "settings.yaml")
    warnings.filterwarnings("ignore", message=".*PyQt5 backend is deprecated.*")
    from napari.settings import get_settings
    from qtpy.QtWidgets import QApplication

    import napari
    from sxtseg.napari._objects import ObjectsWidget
    from sxtseg.napari._sample import simulated_tomogram
    from sxtseg.napari._segment import SegmentWidget

    get_settings().application.gui_notification_level = "error"  # no toasts in the picture
    shape = tuple(int(v) for v in args.shape.split(","))
    layers = simulated_tomogram(shape=shape, seed=args.seed)  # type: ignore[arg-type]
    viewer = napari.Viewer(title="sxtseg in napari", show=True)
    viewer.window._qt_window.resize(1600, 1000)
    data, kw, _ = layers[0]
    viewer.add_image(data, **copy.deepcopy(kw))
    segment = SegmentWidget(viewer)
    viewer.window.add_dock_widget(segment, name="sxtseg: Segment", area="right")
    segment.device.value = "cpu"
    segment.start()
    _wait(segment)
    log.info("segmented: %s", segment.jobs.status.value)
    objects = ObjectsWidget(viewer)
    viewer.window.add_dock_widget(objects, name="sxtseg: Objects & surfaces", area="right")
    objects.mask.value = "simulated tomogram mask"
    objects.start()
    _wait(objects)
    log.info("objects: %s", objects.jobs.status.value)
    viewer.layers["simulated tomogram probabilities"].visible = False
    viewer.dims.set_point(0, shape[0] // 2 * float(kw["scale"][0]))
    if args.view == "3d":  # surfaces over the middle slice of the tomogram, drawn as a plane
        tomo = viewer.layers["simulated tomogram"]
        tomo.depiction = "plane"
        tomo.plane.position = (shape[0] // 2, shape[1] // 2, shape[2] // 2)
        tomo.plane.normal = (1.0, 0.0, 0.0)
        viewer.layers["simulated tomogram mask"].visible = False
        viewer.layers["simulated tomogram objects"].visible = False
        viewer.layers["simulated tomogram surfaces"].shading = "smooth"
        viewer.dims.ndisplay = 3
        viewer.reset_view()
        viewer.camera.angles = (-25.0, 35.0, 70.0)
        viewer.camera.zoom *= 1.15
    else:
        viewer.reset_view()
    QApplication.processEvents()
    shot = viewer.screenshot(path=str(args.output), canvas_only=False, flash=False)
    log.info("%s: %d x %d", args.output, shot.shape[1], shot.shape[0])
    viewer.close()
    return args.output


if __name__ == "__main__":
    main()
