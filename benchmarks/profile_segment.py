"""Where CPU segmentation time goes: per stage, per block and per operator, for 1024² slices.

Usage (from the repository root, on an otherwise idle machine)::

    .venv/bin/python benchmarks/profile_segment.py [--slices 4] [--size 1024] [--compare 256]
        [--model default] [--paths current,fused,fused-cl,onnx,openvino] [--threads N]
        [--out benchmarks/results_profile.md]

Stages (run one after another, not overlapped, so each is timed alone) on an
MRC tomogram of ``slices`` x ``size`` x ``size`` at 10 nm, per path:
read (memory-mapped MRC), NaN check, normalise (per-slice median/IQR, thread
pool), rescale to the model's pixel size and back (when the model records
one), network (the label path on padded slices or tiles), tiling (padding,
tile cutting, raised-cosine blending, copies: the predictor's time minus the
network's), threshold and probability encoding, write (mask uint8 + float16
probabilities, MRC).

Network, per block (forward hooks on encoder stem/blocks, neck branches,
decoder up-convolutions/stages/outputs and the head; "other" = pooling,
skip concatenation, padding and cropping between them) and per operator
(``torch.profiler``; ONNX Runtime's own profiler for the onnx path), at
``size``² and at ``compare``² in ms per megapixel, so a per-pixel slowdown of
large slices shows up where it happens.

Paths (``segment_paths.PATHS``): ``current`` (the network as trained: fuse
off, NCHW — the path of main before the fast CPU work), ``fused`` (BatchNorm folded, linear
convolutions merged, NCHW), ``fused-cl`` (the same, channels-last: the
default), ``onnx`` (ONNX Runtime, needs ``sxtseg[onnx]``), ``openvino``
(stages only; needs ``sxtseg[openvino]``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_segment import _machine, _write_tomogram
from segment_paths import PATHS

STAGES = ("read", "check", "normalise", "rescale", "network", "tiling", "threshold", "write")


class _Timer:
    def __init__(self) -> None:
        self.total: dict[str, float] = defaultdict(float)

    def add(self, name: str, t0: float) -> float:
        now = time.perf_counter()
        self.total[name] += now - t0
        return now


def _predictor(res: Any, path: str, threads: int | None) -> Any:
    from sxtseg.infer import Predictor, SegmentConfig

    cfg = SegmentConfig(device="cpu", num_threads=threads, **PATHS[path])
    return Predictor(res.module, config=cfg)


def stages(tomo: Path, res: Any, path: str, threads: int | None,
           work: Path) -> tuple[dict[str, float], str]:  # fmt: skip
    """Seconds per slice for each stage of one path (serial), and the plan in words."""
    from concurrent.futures import ThreadPoolExecutor

    from sxtseg.infer.devices import cpu_count
    from sxtseg.infer.rescale import model_pixel_size, plane_scale
    from sxtseg.infer.stream import normalize_parallel, release_pages, release_writer_pages
    from sxtseg.infer.tomogram import encode_probabilities
    from sxtseg.io import create_writer, open_volume
    from sxtseg.io.base import count_nonfinite

    pred = _predictor(res, path, threads)
    timer = _Timer()
    net = pred._fn

    def timed_net(x: Any) -> Any:
        t0 = time.perf_counter()
        out = net(x)
        timer.add("network", t0)
        return out

    pred._fn = timed_net
    threshold = 0.5
    with open_volume(tomo) as reader, \
            ThreadPoolExecutor(max_workers=min(8, cpu_count())) as pool:  # fmt: skip
        shape, spacing = reader.shape, reader.voxel_size
        pixel = model_pixel_size(res.pixel_size_nm, spacing, rescale=True, source=str(tomo))
        scale = plane_scale(shape, spacing, 0, pixel)
        plan = pred.plan(scale.target if scale is not None else shape[1:])
        step = plan.batch_size
        pred.predict(np.zeros((1, *(scale.target if scale else shape[1:])), np.float32))  # warm
        timer.total.clear()
        common = {"voxel_size": spacing, "overwrite": True}
        with create_writer(work / "mask.mrc", shape, np.uint8, **common) as mw, \
                create_writer(work / "prob.mrc", shape, np.float16, **common) as pw:  # fmt: skip
            lazy = getattr(reader, "lazy", None)
            for z0 in range(0, shape[0], step):
                t = time.perf_counter()
                block = reader.read(z0, min(shape[0], z0 + step))
                if isinstance(lazy, np.memmap):
                    release_pages(lazy)
                t = timer.add("read", t)
                count_nonfinite(block)
                t = timer.add("check", t)
                planes = normalize_parallel(block, invert=res.invert, pool=pool)
                t = timer.add("normalise", t)
                if scale is not None:
                    planes = scale.to_model(planes)
                t = timer.add("rescale", t)
                before = timer.total["network"]
                prob = pred.predict(planes)
                t_pred = time.perf_counter() - t
                timer.total["tiling"] += t_pred - (timer.total["network"] - before)
                t = time.perf_counter()
                if scale is not None:
                    prob = scale.to_input(prob)
                t = timer.add("rescale", t)
                mask = (prob >= threshold).astype(np.uint8)
                enc = encode_probabilities(prob, "float16")
                t = timer.add("threshold", t)
                mw.write(z0, mask)
                pw.write(z0, enc)
                release_writer_pages(mw)
                release_writer_pages(pw)
                timer.add("write", t)
    out = {k: timer.total.get(k, 0.0) / shape[0] for k in STAGES}
    grid = "full slice" if not plan.tiled else f"{len(plan.grid)} tiles of {plan.grid.tile}"
    return out, f"{grid}, batch {plan.batch_size}; {pred.device_name}"


def _groups(model: Any) -> list[tuple[str, Any]]:
    picked = []
    for name, mod in model.named_modules():
        parts = name.split(".")
        if (len(parts) == 2 and parts[1] in ("stem", "out")) or \
                (len(parts) == 3 and parts[1] in ("blocks", "branches", "ups", "stages")) or \
                name == "label_head":  # fmt: skip
            picked.append((name, mod))
    return picked


def blocks(pred: Any, size: int, reps: int) -> dict[str, float]:
    """Milliseconds per megapixel of each block of the torch label path at ``size``²."""
    import torch

    x = torch.randn(1, 1, size, size)
    if pred.config.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    acc: dict[str, float] = defaultdict(float)
    start: dict[str, float] = {}
    handles = []
    for name, mod in _groups(pred.model):
        def pre(_m: Any, _i: Any, name: str = name) -> None:
            start[name] = time.perf_counter()

        def post(_m: Any, _i: Any, _o: Any, name: str = name) -> None:
            acc[name] += time.perf_counter() - start[name]

        handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
    with torch.inference_mode():
        pred._fn(x)
        acc.clear()
        t0 = time.perf_counter()
        for _ in range(reps):
            pred._fn(x)
        total = time.perf_counter() - t0
    for h in handles:
        h.remove()
    mp = size * size / 1e6 * reps
    out = {k: 1e3 * v / mp for k, v in acc.items()}
    out["other (pool, cat, pad, crop)"] = 1e3 * (total - sum(acc.values())) / mp
    out["total"] = 1e3 * total / mp
    return out


def operators(pred: Any, size: int) -> dict[str, float]:
    """Milliseconds per megapixel of each operator type at ``size``² (one forward)."""
    import torch

    x = torch.randn(1, 1, size, size)
    mp = size * size / 1e6
    if pred.backend == "onnx":
        return _ort_operators(pred, x, mp)
    from torch.profiler import ProfilerActivity, profile

    if pred.config.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        pred._fn(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            pred._fn(x)
    return {e.key: e.self_cpu_time_total / 1e3 / mp for e in prof.key_averages()}


def _ort_operators(pred: Any, x: Any, mp: float) -> dict[str, float]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = pred._fn.threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.enable_profiling = True
    opts.profile_file_prefix = str(Path(tempfile.gettempdir()) / "sxtseg_ort_profile")
    sess = ort.InferenceSession(str(pred._fn.path), sess_options=opts,
                                providers=["CPUExecutionProvider"])  # fmt: skip
    feed = {"slices": x.numpy()}
    sess.run(None, feed)
    sess.run(None, feed)
    events = json.loads(Path(sess.end_profiling()).read_text())
    acc: dict[str, float] = defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            acc[e.get("args", {}).get("op_name", "?")] += e["dur"] / 1e3 / 2  # 2 runs
    return {k: v / mp for k, v in acc.items()}


def _table(title: str, rows: dict[str, dict[str, float]], cols: list[str], *, top: int = 0,
           fmt: str = "{:.1f}") -> list[str]:  # fmt: skip
    keys = list(dict.fromkeys(k for r in rows.values() for k in r))
    if top:
        first = rows[cols[0]]
        keys = sorted(keys, key=lambda k: -first.get(k, 0.0))[:top]
    out = ["", f"**{title}**", "", "| | " + " | ".join(cols) + " |",
           "|---|" + "---|" * len(cols)]  # fmt: skip
    for k in keys:
        vals = [fmt.format(rows[c][k]) if k in rows[c] else "" for c in cols]
        out.append(f"| {k} | " + " | ".join(vals) + " |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=4)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--compare", type=int, default=256)
    ap.add_argument("--model", default="default")
    ap.add_argument("--paths", default="current,fused,fused-cl,onnx,openvino")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results_profile.md"))
    a = ap.parse_args()
    from sxtseg.infer.volume import resolve_model

    res = resolve_model(a.model)
    paths = [p for p in a.paths.split(",") if p]
    lines = ["# Where CPU segmentation time goes", "",
             f"Machine: {_machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
             f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`; model {a.model} "
             f"(m = {res.module.config.m}, pixel size {res.pixel_size_nm} nm); "
             f"{a.slices} x {a.size} x {a.size} float32 MRC at 10 nm."]  # fmt: skip
    st: dict[str, dict[str, float]] = {}
    plans: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="profile_segment_") as t:
        work = Path(t)
        tomo = work / "tomo.mrc"
        _write_tomogram(tomo, (a.slices, a.size, a.size), seed=0)
        for p in paths:
            r, plans[p] = stages(tomo, res, p, a.threads, work)
            r["total"] = sum(r.values())
            r["slices/s"] = 1.0 / r["total"] if r["total"] > 0 else float("inf")
            st[p] = {k: 1e3 * v if k != "slices/s" else v for k, v in r.items()}
            print(p, json.dumps(st[p]), flush=True)
    lines += _table("Stages, ms per slice (serial; slices/s = 1 / total)", st, paths)
    lines += ["", *[f"- {p}: {plans[p]}" for p in paths]]
    blk: dict[str, dict[str, float]] = {}
    ops: dict[str, dict[str, float]] = {}
    kinds: dict[str, str] = {}
    for p in paths:
        pred = _predictor(res, p, a.threads)
        hooks = pred.backend == "torch" and not pred.config.compile
        if not hooks and pred.backend != "onnx":
            continue  # OpenVINO, torch.compile: the stage table has their network time
        for size in (a.size, a.compare):
            if hooks:
                blk[f"{p} {size}²"] = blocks(pred, size, a.reps)
            ops[f"{p} {size}²"] = operators(pred, size)
            kinds[f"{p} {size}²"] = pred.backend
        if hooks:
            big, small = blk[f"{p} {a.size}²"], blk[f"{p} {a.compare}²"]
            blk[f"{p} ratio"] = {k: big[k] / small[k] for k in big if small.get(k)}
        print(p, "profiled", flush=True)
    if blk:
        lines += _table(f"Network blocks, ms per megapixel (ratio = {a.size}² / {a.compare}² "
                        "per pixel)", blk, list(blk), fmt="{:.2f}")  # fmt: skip
    for kind in ("torch", "onnx"):
        cols = [c for c in ops if kinds[c] == kind]
        if cols:
            lines += _table(f"Operators ({kind}), ms per megapixel (self time; top 15 of the "
                            "first column)", ops, cols, top=15, fmt="{:.2f}")  # fmt: skip
    text = "\n".join(lines) + "\n"
    Path(a.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
