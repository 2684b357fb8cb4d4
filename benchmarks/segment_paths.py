"""CPU inference paths compared end to end: ``bench_segment.py paths`` (see its docs).

Each path runs ``segment_file`` (MRC in; uint8 mask and float16 probabilities
out) in its own subprocess, after a one-slice warm-up that also exports and
caches the ONNX graph, so its peak RSS (``ru_maxrss`` from ``wait4``: all
resident pages, mapped file pages included, like ``VmHWM``) is its own. Masks
are then compared slab by slab with the current path's: voxel agreement, and
the largest difference of the stored probabilities.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

#: Inference paths: SegmentConfig settings. "current" is main before the fast CPU work
#: (the network as trained, NCHW, all logical CPUs); "fused-cl" is today's default.
PATHS: dict[str, dict[str, Any]] = {
    "current": {"fuse": False, "channels_last": False, "backend": "torch"},
    "fused": {"fuse": True, "channels_last": False, "backend": "torch"},
    "fused-cl": {"fuse": True, "channels_last": True, "backend": "torch"},
    "onnx": {"backend": "onnx"},
    "openvino": {"backend": "openvino"},
    # not in the default list: torch.compile on the CPU needs a C++ compiler and minutes
    "compile": {"fuse": True, "channels_last": True, "backend": "torch", "compile": True},
}
START, END = "<!-- bench_segment paths: start -->", "<!-- bench_segment paths: end -->"


def make_input(path: Path, *, slices: int, size: int, voxel: float, seed: int = 0) -> str:
    """A simulated tomogram (membranes, SXT contrast) of slices x size x size at ``voxel`` nm.

    A 256² simulation tiled to ``size``² (simulating 1024² directly takes long);
    the tiling seams do not matter for speed or for agreement between paths.
    """
    from sxtseg.io import write_volume
    from sxtseg.simulate import simulate
    from sxtseg.types import Volume

    side = min(256, size)
    sim = simulate(shape=(max(8, slices), side, side), seed=seed)
    tile = np.asarray(getattr(sim.tomogram, "data", sim.tomogram), dtype=np.float32)[:slices]
    reps = (1, -(-size // side), -(-size // side))
    data = np.ascontiguousarray(np.tile(tile, reps)[:, :size, :size])
    write_volume(path, Volume(data, (voxel, voxel, voxel)))
    return f"simulated (seed {seed}, {side}² tiled to {size}²)"


def _first_slice(src: Path, out: Path) -> None:
    from sxtseg.io import open_volume, write_volume
    from sxtseg.types import Volume

    with open_volume(src) as reader:
        write_volume(out, Volume(np.asarray(reader.read(0, 1), np.float32), reader.voxel_size))


def worker(args: argparse.Namespace) -> None:
    """One path in this process: warm-up slice, then the timed file; prints JSON."""
    import resource

    from sxtseg.infer import SegmentConfig, segment_file
    from sxtseg.infer.devices import cpu_count
    from sxtseg.infer.volume import resolve_model

    settings = dict(PATHS[args.path])
    threads = args.threads or (cpu_count() if args.path == "current" else None)
    cfg = SegmentConfig(device="cpu", num_threads=threads, **settings)
    model = resolve_model(args.model)
    work = Path(args.workdir)
    segment_file(args.warmup, work / f"warm_{args.path}.mrc", model=model, config=cfg,
                 overwrite=True)  # fmt: skip
    res = segment_file(args.input, work / f"mask_{args.path}.mrc",
                       prob_path=work / f"prob_{args.path}.mrc", model=model, config=cfg,
                       overwrite=True)  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"slices_per_s": res.slices_per_second, "seconds": res.seconds,
                      "peak_rss_mb": peak, "plan": res.plan, "device": res.device,
                      "foreground": res.foreground_fraction}))  # fmt: skip


def compare(work: Path, name: str, ref: str = "current") -> tuple[float, float]:
    """(voxel agreement of the masks, max |difference| of the stored probabilities)."""
    from sxtseg.io import open_volume

    same, total, dmax = 0, 0, 0.0
    with open_volume(work / f"mask_{name}.mrc") as a, open_volume(work / f"mask_{ref}.mrc") as b, \
            open_volume(work / f"prob_{name}.mrc") as pa, \
            open_volume(work / f"prob_{ref}.mrc") as pb:  # fmt: skip
        for z0 in range(0, a.shape[0], 8):
            z1 = min(a.shape[0], z0 + 8)
            ma, mb = a.read(z0, z1), b.read(z0, z1)
            same += int((ma == mb).sum())
            total += ma.size
            diff = np.abs(pa.read(z0, z1).astype(np.float32) - pb.read(z0, z1).astype(np.float32))
            dmax = max(dmax, float(diff.max()))
    return same / total, dmax


def _write_section(out: Path, rows: list[str]) -> None:
    text = out.read_text() if out.exists() else "# Segmentation benchmarks\n"
    block = "\n".join([START, *rows, END])
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _m: block, text,
                      flags=re.S)  # fmt: skip
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    out.write_text(text)


def bench_paths(args: argparse.Namespace, *, script: str, machine: str) -> list[str]:
    """Every path of ``args.paths`` on one tomogram; rows of a markdown section."""
    names = [p for p in args.paths.split(",") if p]
    if "current" not in names:
        names.insert(0, "current")
    shape = (args.slices, args.size, args.size)
    with tempfile.TemporaryDirectory(prefix="bench_paths_", dir=args.workdir) as t:
        work = Path(t)
        tomo, warm = work / "tomo.mrc", work / "warm.mrc"
        if args.input:
            tomo, what = Path(args.input), f"given ({args.input})"
        else:
            what = make_input(tomo, slices=args.slices, size=args.size, voxel=args.voxel)
        _first_slice(tomo, warm)
        results: dict[str, dict[str, Any]] = {}
        for name in names:
            cmd = [sys.executable, script, "path-worker", "--path", name, "--model", args.model,
                   "--input", str(tomo), "--warmup", str(warm), "--workdir", str(work)]  # fmt: skip
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            log_out, log_err = work / f"{name}.out", work / f"{name}.err"
            with open(log_out, "w") as fo, open(log_err, "w") as fe:
                proc = subprocess.Popen(cmd, stdout=fo, stderr=fe)
                _, _, usage = os.wait4(proc.pid, 0)
            out, err = log_out.read_text(), log_err.read_text()
            lines = [ln for ln in out.strip().splitlines() if ln.startswith("{")]
            if not lines:
                results[name] = {"error": (err.strip().splitlines() or ["failed"])[-1]}
            else:
                results[name] = json.loads(lines[-1])
                results[name]["wait4_rss_mb"] = usage.ru_maxrss / 1024.0
            print(name, json.dumps(results[name]), flush=True)
        for name in names:
            if name != "current" and "error" not in results[name] and \
                    "error" not in results["current"]:  # fmt: skip
                results[name]["agreement"], results[name]["dprob"] = compare(work, name)
    ref = results["current"].get("slices_per_s")
    rows = [f"## CPU: current path vs fast paths ({shape[0]} x {shape[1]} x {shape[2]} at "
            f"{args.voxel:g} nm, model {args.model})", "",
            f"Machine: {machine}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
            f"Command: `python {' '.join(sys.argv)}`. Input: {what} float32 MRC; outputs uint8 "
            "mask + float16 probabilities (MRC), end to end (`segment_file`), each path in its "
            "own process after a one-slice warm-up (ONNX export cached before).",
            "Peak RSS: `ru_maxrss` of the path's process (all resident pages, file pages "
            "included). Agreement: voxels where the mask equals the current path's; Δp: the "
            "largest difference of the stored probabilities (float16: one step near 1 is "
            "4.9e-4).", "",
            "| path | slices/s | speed-up | 500 slices (min) | peak RSS (MiB) | mask agreement "
            "| max Δp | membrane % | device, plan |",
            "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in names:
        r = results[name]
        if "error" in r:
            rows.append(f"| {name} | failed: {r['error'][:120]} | | | | | | | |")
            continue
        sps = r["slices_per_s"]
        agree = "reference" if name == "current" else f"{100 * r['agreement']:.3f} %"
        dprob = "" if name == "current" else f"{r['dprob']:.1e}"
        rows.append(f"| {name} | {sps:.3f} | {sps / ref if ref else float('nan'):.2f}x | "
                    f"{500 / sps / 60:.1f} | {r['wait4_rss_mb']:.0f} | {agree} | {dprob} | "
                    f"{100 * r['foreground']:.2f} | {r['device']}; {r['plan']} |")  # fmt: skip
    rows += ["", "Paths: " + "; ".join(f"{k} = {v}" for k, v in PATHS.items() if k in names)
             + ". Target (issue 14): >= 0.83 slices/s, < 2 GB peak, agreement >= 99.9 %."]
    if args.out:
        _write_section(Path(args.out), rows)
    return rows


def add_arguments(sub: Any) -> None:
    """The ``paths`` and ``path-worker`` subcommands of bench_segment.py."""
    p = sub.add_parser("paths", help="current vs fast CPU paths, end to end")
    p.add_argument("--slices", type=int, default=64)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--voxel", type=float, default=10.0)
    p.add_argument("--model", default="default")
    p.add_argument("--paths", default="current,fused,fused-cl,onnx,openvino")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--input", default=None, help="use this tomogram instead of a simulated one")
    p.add_argument("--workdir", default=None, help="folder for the temporary files")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results_segment.md"))
    w = sub.add_parser("path-worker")
    for name in ("--path", "--model", "--input", "--warmup", "--workdir"):
        w.add_argument(name, required=True)
    w.add_argument("--threads", type=int, default=None)
