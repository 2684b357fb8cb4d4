"""Time objects -> surfaces -> measurements on a large membrane mask.

The mask is the simulator's membrane truth for one 64 x 256 x 256 scene
(periphery recipe, 10 nm voxels), tiled with mirror flips to the requested
shape (default 256 x 1024 x 1024, the size of a real cryo-SXT tomogram), so
it holds realistic membranes and many compartments. Each stage is timed on
its own; peak memory is the process's maximum resident set size.

Usage::

    .venv/bin/python benchmarks/bench_mesh.py [--shape 256,1024,1024] [--out results.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def tiled(block: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Tile ``block`` with mirror flips to ``shape`` (Z, Y, X)."""
    reps = [int(np.ceil(s / b)) for s, b in zip(shape, block.shape, strict=True)]
    out = np.empty([r * b for r, b in zip(reps, block.shape, strict=True)], dtype=block.dtype)
    bz, by, bx = block.shape
    for i in range(reps[0]):
        for j in range(reps[1]):
            for k in range(reps[2]):
                b = block[:: (-1) ** i, :: (-1) ** j, :: (-1) ** k]
                out[i * bz : (i + 1) * bz, j * by : (j + 1) * by, k * bx : (k + 1) * bx] = b
    return out[: shape[0], : shape[1], : shape[2]]


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", default="256,1024,1024")
    ap.add_argument("--faces", type=int, default=20000, help="decimation target per object")
    ap.add_argument("--out", type=Path, default=None, help="append a markdown row here")
    args = ap.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))

    from sxtseg.mesh import MeshConfig, mesh_objects, write_surfaces
    from sxtseg.morphometry import measure_objects, objects_from_mask
    from sxtseg.simulate import make_phantom

    ph = make_phantom((64, 256, 256), voxel_size=10.0, seed=1, recipe="periphery")
    mask = tiled(ph.membranes.astype(bool), shape)  # type: ignore[arg-type]
    sp = (10.0, 10.0, 10.0)
    print(f"mask {mask.shape}, {mask.mean():.3%} membrane", flush=True)
    times: dict[str, float] = {}

    t = time.perf_counter()
    labels = objects_from_mask(mask, spacing=sp)
    times["objects"] = time.perf_counter() - t
    n = int(labels.max())
    print(f"objects: {n} in {times['objects']:.1f} s, peak {peak_gib():.1f} GiB", flush=True)
    del mask

    t = time.perf_counter()
    meshes = mesh_objects(labels, spacing=sp, config=MeshConfig(target_faces=args.faces))
    times["surfaces"] = time.perf_counter() - t
    faces = sum(len(m.faces) for m in meshes)
    print(f"surfaces: {faces} faces in {times['surfaces']:.1f} s", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        write_surfaces(meshes, Path(tmp) / "surf", formats=("ply", "glb"))
        times["write"] = time.perf_counter() - t
    print(f"write PLY+GLB: {times['write']:.1f} s", flush=True)

    t = time.perf_counter()
    table = measure_objects(labels, spacing=sp)
    times["measure"] = time.perf_counter() - t
    print(f"measure: {len(table)} rows in {times['measure']:.1f} s", flush=True)
    total = sum(times.values())
    print(f"total {total:.1f} s, peak {peak_gib():.1f} GiB", flush=True)

    if args.out is not None:
        row = (
            f"| {datetime.date.today()} | {platform.node()} ({os.cpu_count()} cores) "
            f"| {'x'.join(map(str, shape))} | {n} | {times['objects']:.0f} "
            f"| {times['surfaces']:.0f} | {times['write']:.0f} | {times['measure']:.0f} "
            f"| {total:.0f} | {peak_gib():.1f} |\n"
        )
        with open(args.out, "a") as fh:
            fh.write(row)


if __name__ == "__main__":
    main()
