"""Many tomograms: the ``run`` pipeline once per tomogram on dask.distributed.

A task is a function of one tomogram's path, its output folder and a
:class:`~sxtseg.pipeline.RunConfig` (paths, never arrays; no shared state).
It runs where the cluster puts it: a ``LocalCluster`` of processes sized to
the machine (default), SLURM jobs through dask-jobqueue, or an existing
scheduler. Each tomogram's outputs go to ``OUT_DIR/<name>/``; the batch adds
``OUT_DIR/objects.csv`` (every object, with a ``tomogram`` column) and
``OUT_DIR/batch.json`` (status, stage timings, voxel size, object count and a
one-line error per tomogram). A rerun skips finished tomograms and stages.

Example
-------
>>> from sxtseg.batch import run_batch  # doctest: +SKIP
>>> result = run_batch(["sims/"], "results/")  # doctest: +SKIP
>>> result.exit_status  # doctest: +SKIP
0
"""

from sxtseg.batch.cluster import ClusterConfig, ClusterInfo, estimate_worker_memory
from sxtseg.batch.inputs import Tomogram, find_tomograms
from sxtseg.batch.runner import BatchResult, run_batch

__all__ = [
    "BatchResult",
    "ClusterConfig",
    "ClusterInfo",
    "Tomogram",
    "estimate_worker_memory",
    "find_tomograms",
    "run_batch",
]
