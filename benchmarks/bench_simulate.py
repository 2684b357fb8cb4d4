"""Benchmark the cryo-SXT simulator: seconds per stage for given shapes (CPU).

Usage::

    .venv/bin/python benchmarks/bench_simulate.py                 # 64x256x256 and 128x512x512
    .venv/bin/python benchmarks/bench_simulate.py --shapes 64,256,256 --repeat 2
    .venv/bin/python benchmarks/bench_simulate.py --out benchmarks/results_simulate.md

Every run is the full default pipeline of ``sxtseg simulate`` (phantom, 131-angle
tilt series with depth-dependent blur and Poisson noise, 30 plain SIRT
iterations), plus writing the files. The machine is shared: the 1-minute load
average is printed next to each timing, and the process CPU time (both threads
together) is the contention-independent measure; with two idle cores the wall
time is about half of it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from sxtseg.simulate import simulate, write_simulation
from sxtseg.simulate.forward import TiltGeometry, projection_matrix
from sxtseg.simulate.reconstruct import default_threads


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {default_threads()} SIRT threads"


def bench(shape: tuple[int, int, int], profile: str, recipe: str, seed: int) -> dict:
    c0 = time.process_time()
    t0 = time.perf_counter()
    sim = simulate(profile, shape=shape, seed=seed, recipe=recipe)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        write_simulation(sim, tmp)
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    geom = TiltGeometry(shape[0], shape[2], tuple(sim.tilt_angles), sim.profile.voxel_size_nm)
    a = projection_matrix(geom)
    x = np.ones((a.shape[1], shape[1]), np.float32)
    t3 = time.perf_counter()
    y = a @ x
    t4 = time.perf_counter()
    a.T @ y
    t5 = time.perf_counter()
    return {
        "shape": "x".join(map(str, shape)),
        "profile": profile,
        "recipe": recipe,
        "angles": len(sim.tilt_angles),
        "nnz": a.nnz,
        **{k: v for k, v in sim.timings.items()},
        "write": t2 - t1,
        "total": t2 - t0,
        "cpu": cpu,
        "A": t4 - t3,
        "AT": t5 - t4,
        "load": os.getloadavg()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", nargs="+", default=["64,256,256", "128,512,512"])
    ap.add_argument("--profile", default="bessy-u41")
    ap.add_argument("--recipe", default="periphery")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="append a markdown table here")
    args = ap.parse_args()
    rows = []
    for text in args.shapes:
        shape = tuple(int(v) for v in text.split(","))
        for r in range(args.repeat):
            row = bench(shape, args.profile, args.recipe, args.seed + r)  # type: ignore[arg-type]
            rows.append(row)
            print({k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()})
    head = (
        "| shape (Z×Y×X) | profile | angles | phantom s | tilt series s | SIRT (30 it) s "
        "| write s | total s | CPU s | one A / Aᵀ product s | load avg |"
    )
    lines = [
        f"### sxtseg simulate — {dt.date.today()} — {_machine()}",
        "",
        head,
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['shape']} | {r['profile']} | {r['angles']} | {r['phantom']:.1f} "
            f"| {r['tilt series']:.1f} | {r['sirt']:.1f} | {r['write']:.1f} | {r['total']:.1f} "
            f"| {r['cpu']:.1f} "
            f"| {r['A']:.2f} / {r['AT']:.2f} | {r['load']:.1f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        with open(args.out, "a") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
