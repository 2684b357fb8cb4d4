"""Running heavy work off the GUI thread: a progress bar, a status line and a cancel button.

Every widget hands its work to :meth:`JobPanel.start`: the function runs in
a napari ``thread_worker`` and receives a ``report(done, total, text)``
callback. ``report`` moves the progress bar (through a Qt signal, so the GUI
thread draws it) and raises :class:`Cancelled` once the user pressed
*Cancel*, which ends the work at its next report; the result is then
dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from magicgui.widgets import Container, Label, ProgressBar, PushButton
from qtpy.QtCore import QObject, Signal

__all__ = ["Cancelled", "JobPanel", "Report"]

log = logging.getLogger(__name__)

#: ``report(done, total, text)``; raises :class:`Cancelled` after a cancel request.
Report = Callable[..., None]


class Cancelled(Exception):
    """Raised by ``report`` inside a job after the user pressed Cancel."""


class _Bridge(QObject):
    progress = Signal(float, float, str)


class JobPanel(Container):
    """Progress bar, status text and a Cancel button for one widget's jobs.

    Attributes
    ----------
    busy : bool
        A job is running.
    worker : napari worker or None
        The current (or last) worker.
    last_error : Exception or None
        What the last job raised (None when it succeeded or was cancelled).
    """

    def __init__(self) -> None:
        self.status = Label(value="ready")
        self.bar = ProgressBar(value=0, min=0, max=100, label="progress")
        self.cancel = PushButton(text="Cancel", enabled=False)
        super().__init__(widgets=[self.bar, self.status, self.cancel], labels=False)
        self.busy = False
        self.worker: Any = None
        self.last_error: Exception | None = None
        self._what = ""
        self._t0 = 0.0
        self._bridge = _Bridge()
        self._bridge.progress.connect(self._on_progress)
        self.cancel.changed.connect(self.request_cancel)

    def start(
        self,
        what: str,
        func: Callable[..., Any],
        *args: Any,
        on_result: Callable[[Any], None],
        on_end: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run ``func(*args, report=report, **kwargs)`` in a worker thread.

        Parameters
        ----------
        what : str
            Shown in the status line ("segmenting", ...).
        func : callable
            The work; must call ``report`` now and then.
        on_result : callable
            Called in the GUI thread with ``func``'s return value on success.
        on_end : callable, optional
            Called in the GUI thread when the job ends in any way.

        Returns
        -------
        FunctionWorker
        """
        from napari.qt.threading import create_worker

        if self.busy:
            raise RuntimeError("a job is already running")
        holder: dict[str, Any] = {}

        def report(done: float, total: float, text: str = "") -> None:
            w = holder.get("worker")
            if w is not None and w.abort_requested:
                raise Cancelled
            self._bridge.progress.emit(float(done), max(1e-9, float(total)), str(text))

        def run() -> Any:
            try:
                return func(*args, report=report, **kwargs)
            except Cancelled:
                return None

        worker = create_worker(run, _start_thread=False)
        holder["worker"] = worker
        self.worker, self.busy, self.last_error = worker, True, None
        self._what, self._t0 = what, time.perf_counter()
        self.bar.value = 0
        self.status.value = f"{what}..."
        self.cancel.enabled = True

        def returned(result: Any) -> None:
            if not worker.abort_requested:
                on_result(result)

        def errored(exc: Exception) -> None:
            self.last_error = exc
            self.status.value = f"{what} failed: {exc}"
            log.error("%s failed: %s", what, exc)

        def finished() -> None:
            self.busy = False
            self.cancel.enabled = False
            if worker.abort_requested:
                self.status.value = f"{what}: cancelled"
            elif self.last_error is None:
                self.bar.value = 100
                self.status.value = f"{what}: done in {time.perf_counter() - self._t0:.1f} s"
            if on_end is not None:
                on_end()

        worker.returned.connect(returned)
        worker.errored.connect(errored)
        worker.finished.connect(finished)
        worker.start()
        return worker

    def request_cancel(self, *_: Any) -> None:
        """Ask the running job to stop at its next progress report."""
        if self.worker is not None and self.busy:
            self.worker.quit()
            self.status.value = f"{self._what}: cancelling..."

    def _on_progress(self, done: float, total: float, text: str) -> None:
        if not self.busy:
            return
        self.bar.value = round(100 * min(1.0, done / total))
        self.status.value = f"{self._what}: {text}" if text else f"{self._what}..."
