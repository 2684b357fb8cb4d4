"""Bounded-memory pipeline: reader thread -> compute (main thread) -> writer thread.

Slabs of slices travel through two bounded queues, so reading and
normalising the next slab, running the network on the current one and
writing the previous one overlap, and at most ``2 * depth + 3`` slabs are
alive at any time, whatever the size of the tomogram.

Exceptions in any stage (bad data in the reader, a full disk in the writer,
Ctrl-C in the main thread) stop the other stages and are re-raised in the
caller, so the writers' context managers remove their partial output.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from sxtseg.io.base import release_mapped_pages
from sxtseg.preprocess import normalize_slices

__all__ = [
    "Progress",
    "normalize_parallel",
    "release_pages",
    "release_writer_pages",
    "run_pipeline",
]

log = logging.getLogger(__name__)

#: ``progress(advance, total)``: called in the caller's thread after each computed slab.
Progress = Callable[[int, int], None]

_END = object()
_POLL_S = 0.1


def normalize_parallel(
    block: np.ndarray, *, invert: bool, pool: ThreadPoolExecutor | None = None
) -> np.ndarray:
    """:func:`sxtseg.preprocess.normalize_slices` of a slab, one slice per pool thread.

    The per-slice percentiles dominate the reader's time on large slices
    (tens of ms for 1324 x 1284); numpy releases the GIL while partitioning, so
    threads normalise slices in parallel. Same result as the serial call.

    Parameters
    ----------
    block : ndarray, shape (N, H, W)
    invert : bool
    pool : ThreadPoolExecutor, optional
        Serial when None or N == 1.

    Returns
    -------
    ndarray of float32, shape (N, H, W)
    """
    if pool is None or block.shape[0] < 2:
        return normalize_slices(block, invert=invert)
    out = np.empty(block.shape, dtype=np.float32)

    def one(i: int) -> None:
        out[i] = normalize_slices(block[i], invert=invert)

    list(pool.map(one, range(block.shape[0])))
    return out


def release_pages(array: Any) -> None:
    """Unmap a memory-mapped array's pages; see :func:`sxtseg.io.base.release_mapped_pages`."""
    release_mapped_pages(array)


def release_writer_pages(writer: Any) -> None:
    """Unmap the pages a streaming writer has written (MRC memory-maps its output)."""
    writer.release_pages()


class _Worker(threading.Thread):
    def __init__(self, target: Callable[[], None], stop: threading.Event, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._target_fn = target
        self._stop_event = stop
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._target_fn()
        except BaseException as exc:
            self.error = exc
            self._stop_event.set()


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def run_pipeline(
    source: Iterable[tuple[int, np.ndarray]],
    compute: Callable[[np.ndarray], np.ndarray],
    sink: Callable[[int, np.ndarray], None],
    *,
    depth: int = 2,
    total: int = 0,
    progress: Progress | None = None,
) -> None:
    """Run ``sink(i, compute(block))`` for every ``(i, block)`` of ``source``, overlapped.

    Parameters
    ----------
    source : iterable of (int, ndarray)
        Consumed in a reader thread (reading and normalising happen there).
    compute : callable
        Runs in the calling thread (the device work).
    sink : callable
        Runs in a writer thread, in source order.
    depth : int
        Capacity of each queue, in slabs.
    total : int
        Passed to ``progress`` as the total number of planes.
    progress : callable, optional
        ``progress(planes_done_now, total)`` after each computed slab.

    Raises
    ------
    BaseException
        The first error of any stage.
    """
    stop = threading.Event()
    q_in: queue.Queue = queue.Queue(maxsize=max(1, depth))
    q_out: queue.Queue = queue.Queue(maxsize=max(1, depth))

    def read() -> None:
        try:
            for item in source:
                if not _put(q_in, item, stop):
                    return
        finally:
            _put(q_in, _END, stop)

    def write() -> None:
        while True:
            try:
                item = q_out.get(timeout=_POLL_S)
            except queue.Empty:
                if stop.is_set():
                    return
                continue
            if item is _END:
                return
            sink(*item)

    reader = _Worker(read, stop, "sxtseg-reader")
    writer = _Worker(write, stop, "sxtseg-writer")
    reader.start()
    writer.start()
    try:
        while True:
            try:
                item = q_in.get(timeout=_POLL_S)
            except queue.Empty:
                if stop.is_set():
                    break
                continue
            if item is _END:
                break
            index, block = item
            out = compute(block)
            if not _put(q_out, (index, out), stop):
                break
            if progress is not None:
                progress(int(block.shape[0]), total)
        _put(q_out, _END, stop)
        writer.join()
    except BaseException:
        stop.set()
        raise
    finally:
        stop.set()
        reader.join(timeout=10.0)
        writer.join(timeout=10.0)
    for worker in (reader, writer):
        if worker.error is not None:
            raise worker.error
