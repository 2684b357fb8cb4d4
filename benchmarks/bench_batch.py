"""Throughput of ``sxtseg batch``: tomograms per minute with 1 and 2 workers, and task overhead.

Simulates ``--count`` tomograms of ``--shape`` (bessy-u41, yeast recipe) once,
then runs the whole batch on a fresh ``LocalCluster`` with 1 worker and with
2 workers (a fresh output folder each, so nothing is skipped), and reports
tomograms per minute (cluster start-up included and excluded). Scheduling
overhead per task is the mean round trip of a no-op task through a
2-process cluster (``--noop`` tasks submitted one after another).

Usage::

    .venv/bin/python benchmarks/bench_batch.py [--count 8] [--shape 32,256,256] [--out results.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import tempfile
import time
from pathlib import Path


def _noop(i: int) -> int:
    return i


def simulate_inputs(root: Path, count: int, shape: tuple[int, int, int]) -> Path:
    """``count`` simulator folders under ``root``."""
    from sxtseg.simulate import simulate, write_simulation

    for i in range(count):
        sim = simulate("bessy-u41", shape=shape, seed=100 + i, recipe="yeast")
        write_simulation(sim, root / f"{i:03d}", previews=False)
    return root


def time_batch(inputs: Path, out: Path, workers: int, device: str) -> dict[str, float]:
    """Wall time of one batch, and the time after the cluster was up."""
    from sxtseg.batch import ClusterConfig, run_batch
    from sxtseg.pipeline import run_config_from

    cfg = run_config_from(None, device=device, formats="ply", previews=False)
    marks: dict[str, float] = {}
    t0 = time.perf_counter()
    result = run_batch(
        [inputs], out, config=cfg, cluster=ClusterConfig(workers=workers, dashboard=False),
        on_cluster=lambda info, n: marks.setdefault("up", time.perf_counter()),
    )  # fmt: skip
    total = time.perf_counter() - t0
    n = len(result.tomograms)
    if result.failed:
        raise RuntimeError(f"{len(result.failed)} tomograms failed: {result.failed}")
    work = total - (marks.get("up", t0) - t0)
    return {"seconds": total, "per_minute": 60 * n / total, "per_minute_running": 60 * n / work}


def task_overhead(n: int) -> float:
    """Mean seconds of a no-op task's round trip on a 2-process LocalCluster."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            client.submit(_noop, -1, pure=False).result()  # warm up
            t0 = time.perf_counter()
            for i in range(n):
                client.submit(_noop, i, pure=False).result()
            return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--shape", default="32,256,256")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--noop", type=int, default=200)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        inputs = simulate_inputs(Path(tmp) / "in", args.count, shape)  # type: ignore[arg-type]
        rows = {w: time_batch(inputs, Path(tmp) / f"out{w}", w, args.device) for w in (1, 2)}
    overhead = task_overhead(args.noop)
    lines = [
        f"# bench_batch ({datetime.date.today()}, {platform.node()}, {os.cpu_count()} CPUs)",
        "",
        f"{args.count} tomograms of {args.shape}, device {args.device}, formats ply, no previews.",
        "",
        "| workers | seconds | tomograms/min | tomograms/min after start-up |",
        "|---|---|---|---|",
    ]
    for w, r in rows.items():
        lines.append(f"| {w} | {r['seconds']:.1f} | {r['per_minute']:.2f} | "
                     f"{r['per_minute_running']:.2f} |")  # fmt: skip
    lines += ["", f"No-op task round trip (2 processes): {overhead * 1e3:.2f} ms per task."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
