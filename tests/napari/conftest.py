"""napari plugin tests.

Tests that need a viewer (they use ``make_napari_viewer`` or ``qtbot``) run
under a virtual X server (``xvfb-run -a python -m pytest tests/napari``;
Qt's offscreen platform has no OpenGL on these machines). Without napari,
pytest-qt, a display server or an OpenGL context they skip with a one-line
reason; the reader, writer and manifest tests need none of these.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
GUI_FIXTURES = {"make_napari_viewer", "make_napari_viewer_proxy", "qtbot", "qapp"}
_GL_PROBE = (
    "import sys\n"
    "from qtpy.QtGui import QOffscreenSurface, QOpenGLContext\n"
    "from qtpy.QtWidgets import QApplication\n"
    "app = QApplication([])\n"
    "ctx = QOpenGLContext()\n"
    "surface = QOffscreenSurface(); surface.create()\n"
    "sys.exit(0 if ctx.create() and ctx.makeCurrent(surface) else 3)\n"
)


@functools.cache
def gui_skip_reason() -> str | None:
    """Why viewer tests cannot run here (None when they can)."""
    for module, package in (("napari", "napari"), ("pytestqt", "pytest-qt"), ("qtpy", "qtpy")):
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed (pip install -e '.[napari-test]')"
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return "no display server: run under xvfb-run (Qt's offscreen platform has no OpenGL)"
    try:
        probe = subprocess.run([sys.executable, "-c", _GL_PROBE], capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "no OpenGL context: the Qt probe timed out"
    if probe.returncode != 0:
        return f"no OpenGL context for Qt (probe exit status {probe.returncode})"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the viewer tests of this folder with one line when no GUI can run."""
    for item in items:
        if HERE not in Path(str(item.fspath)).resolve().parents:
            continue
        if GUI_FIXTURES & set(getattr(item, "fixturenames", ())):
            reason = gui_skip_reason()
            if reason is not None:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """One torch thread (restored afterwards): the machine is shared."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def sample_layers() -> list[tuple[Any, dict[str, Any], str]]:
    """The plugin's sample data: a 16 x 96 x 96 simulated tomogram with its truth."""
    from sxtseg.napari._sample import simulated_tomogram

    return simulated_tomogram()
