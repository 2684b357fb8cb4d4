"""SIRT reconstruction of single-axis tilt series (all XZ planes at once).

SIRT (as in IMOD/ASTRA): ``x ← x + C·Aᵀ·R·(b − A·x)`` with ``R = 1/(A·1)`` (inverse
ray lengths) and ``C = 1/(Aᵀ·1)`` (inverse back-projection weights), starting
from zero. The XZ planes are independent, so the Y columns are split across
threads (scipy's sparse products release the GIL); every iteration is a full,
plain SIRT iteration over all angles.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

__all__ = ["default_threads", "sirt"]


def default_threads() -> int:
    """Threads for reconstruction: ``SXTSEG_THREADS`` or the CPU count (at most 8)."""
    env = os.environ.get("SXTSEG_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(8, os.cpu_count() or 1))


def _sirt_block(
    a: sp.csr_matrix,
    at: sp.csr_matrix,
    b: np.ndarray,
    r: np.ndarray,
    c: np.ndarray,
    iterations: int,
    nonneg: bool,
    progress: Callable[[int], None] | None,
) -> np.ndarray:
    x = np.zeros((a.shape[1], b.shape[1]), dtype=np.float32)
    for _ in range(iterations):
        res = b - a @ x
        res *= r
        x += c * (at @ res)
        if nonneg:
            np.maximum(x, 0.0, out=x)
        if progress is not None:
            progress(1)
    return x


def sirt(
    matrix: sp.csr_matrix,
    sinograms: np.ndarray,
    *,
    iterations: int = 30,
    nonneg: bool = False,
    threads: int | None = None,
    matrix_t: sp.spmatrix | None = None,
    progress: Callable[[int], None] | None = None,
    block: int = 32,
) -> np.ndarray:
    """Reconstruct with SIRT.

    Parameters
    ----------
    matrix : CSR, shape (n_rows, n_voxels)
        The projector A (:func:`~sxtseg.simulate.forward.projection_matrix`).
    sinograms : ndarray, shape (n_rows, Y)
        Measured line integrals (−log transmission), one column per XZ plane.
    iterations : int
        Number of full SIRT iterations (default 30, as in the paper's IMOD processing).
    nonneg : bool
        Clip negative values after each iteration (IMOD does not; default False).
    threads : int, optional
        Worker threads over Y (default :func:`default_threads`).
    matrix_t : sparse matrix, optional
        Precomputed transpose of ``matrix`` (default: ``matrix.T``, a CSC view).
    progress : callable, optional
        Called with 1 after each iteration of each block of columns.
    block : int
        Columns (XZ planes) per block; blocks are reconstructed independently.

    Returns
    -------
    ndarray, float32, shape (n_voxels, Y)
        Absorption in the units of the projector (µm⁻¹ for ours).
    """
    if iterations < 1:
        raise ValueError("iterations must be >= 1")
    if sinograms.shape[0] != matrix.shape[0]:
        raise ValueError(f"sinograms have {sinograms.shape[0]} rows, projector {matrix.shape[0]}")
    # the transpose of a CSR matrix is a CSC view: its products are faster here than
    # those of a CSR copy of the transpose (measured 0.36 s vs 0.50 s, 64x256 planes)
    at = matrix_t if matrix_t is not None else matrix.T
    row = np.asarray(matrix.sum(axis=1), dtype=np.float64).ravel()
    col = np.asarray(matrix.sum(axis=0), dtype=np.float64).ravel()
    r = np.where(row > 1e-12, 1.0 / np.maximum(row, 1e-12), 0.0).astype(np.float32)[:, None]
    c = np.where(col > 1e-12, 1.0 / np.maximum(col, 1e-12), 0.0).astype(np.float32)[:, None]
    b = np.asarray(sinograms, dtype=np.float32)
    n = sinograms.shape[1]
    # Column blocks of ~32 planes keep the block of the volume in cache: 2.3x faster
    # products than all 256 planes at once (measured, 64x256 planes, 2-core EPYC).
    edges = [*list(range(0, n, block)), n]
    blocks = [np.ascontiguousarray(b[:, lo:hi]) for lo, hi in itertools.pairwise(edges)]
    nthreads = max(1, min(threads or default_threads(), len(blocks)))

    def run(blk: np.ndarray) -> np.ndarray:
        return _sirt_block(matrix, at, blk, r, c, iterations, nonneg, progress)

    if nthreads == 1:
        parts = [run(blk) for blk in blocks]
    else:
        with ThreadPoolExecutor(nthreads) as ex:
            parts = list(ex.map(run, blocks))
    return np.concatenate(parts, axis=1)
