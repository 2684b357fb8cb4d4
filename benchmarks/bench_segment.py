"""Segmentation speed and memory: CPU per preset, bounded-memory proof, GPU rows when CUDA exists.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_segment.py cpu [--presets tiny,small,base,paper]
    .venv/bin/python benchmarks/bench_segment.py memory [--limit-mb 320 --ratio 4]
    .venv/bin/python benchmarks/bench_segment.py gpu            # needs CUDA
    .venv/bin/python benchmarks/bench_segment.py paths [--slices 64 --size 1024 --voxel 10]
        [--paths current,fused,fused-cl,onnx,openvino] [--model default] [--threads N]

``cpu``: end-to-end ``segment_file`` (MRC read -> normalise -> label path -> mask
and float16 probabilities written) on 512 x 512 slices, each preset in its own
subprocess so its peak RSS (``ru_maxrss``, which counts everything resident,
file pages included) is its own. Only a few slices are timed per preset (the
per-slice cost is what matters); the 64-slice time is extrapolated. Weights are
random: speed does not depend on them.

``memory``: writes a float32 MRC tomogram ``ratio`` times larger than a limit,
then runs ``sxtseg segment`` in a subprocess under ``RLIMIT_DATA = limit`` (the
kernel refuses private memory beyond it: heap, anonymous maps, thread stacks)
while sampling /proc/PID/status (VmRSS, RssAnon, RssFile, VmHWM). The input is
memory-mapped; mapped file pages count in RSS while mapped, so the pipeline
unmaps them after each slab (MADV_DONTNEED); VmHWM therefore is an honest peak
of everything resident. A small network (m = 2) keeps the run to minutes.

``paths``: the CPU inference paths end to end on one tomogram (default 64 x
1024 x 1024 at 10 nm, simulated membranes, the bundled model): ``current``
(the network as trained, NCHW, all logical CPUs: main before the fast CPU
work), ``fused`` (BatchNorm folded, linear convolutions merged), ``fused-cl``
(the same, channels-last: the default), ``onnx`` (ONNX Runtime) and
``openvino`` (OpenVINO; ``compile`` = torch.compile on request). Each runs
``segment_file`` (MRC in, mask + float16 probabilities out) in its own
process; the table gives slices/s, peak RSS, and the voxel agreement of each
mask with the current path's. Written into a section of
``benchmarks/results_segment.md`` (``--out``); see ``segment_paths.py``.
``memory --backend onnx`` runs the memory proof on another backend.

``gpu``: paper preset on 1324 x 1284 slices: model throughput (device-resident
batches) for fp32, bf16 autocast + channels_last, + TTA, + torch.compile, and
the authors' naive scheme (batch 1, both heads, 592-px tiles with the stride
shrunk until it divides H - 592, equal weights, fp32); end to end (MRC read ->
mask written) with ``segment_file``. Beside it the physical floor: 885.9 G
multiply-adds per 1024^2 slice for the label path at the card's bf16 rate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

LAUNCH = "import sys; from sxtseg.cli import main; sys.exit(main(sys.argv[1:]))"
CPU_SLICES = {"tiny": 8, "small": 4, "base": 2, "paper": 1}
GMAC_LABEL_1024 = 885.9


def _write_tomogram(path: Path, shape: tuple[int, int, int], *, seed: int = 0,
                    voxel: float = 10.0) -> None:  # fmt: skip
    """A smooth random float32 tomogram written slab by slab (bounded memory)."""
    from scipy import ndimage

    from sxtseg.io import create_writer

    rng = np.random.default_rng(seed)
    step = max(1, (64 << 20) // (shape[1] * shape[2] * 4))
    with create_writer(path, shape, np.float32, voxel_size=(voxel,) * 3) as w:
        for z in range(0, shape[0], step):
            n = min(step, shape[0] - z)
            block = rng.normal(size=(n, shape[1], shape[2])).astype(np.float32)
            w.write(z, ndimage.uniform_filter(block, size=(1, 3, 3)))


def _model_dir(root: Path, *, preset: str | None = None, m: int | None = None) -> Path:
    import torch

    from sxtseg.model import ModelConfig, build_model
    from sxtseg.model.checkpoint import save_model

    torch.manual_seed(0)
    cfg = ModelConfig.from_preset(preset) if preset else ModelConfig(m=int(m or 2))
    out = root / f"model_{preset or m}"
    save_model(build_model(cfg), cfg, out, meta={"trained": True, "note": "benchmark (random)"})
    return out


def _machine() -> str:
    import torch

    load = os.getloadavg()
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"load average {load[0]:.1f} at start")  # fmt: skip


# -- CPU ----------------------------------------------------------------------------------------
def worker(args: argparse.Namespace) -> None:
    """One preset in this process: warm-up slice, then the timed file; prints JSON."""
    from sxtseg.infer import SegmentConfig, segment_file
    from sxtseg.infer.volume import resolve_model

    cfg = SegmentConfig(device=args.device, batch_size=args.batch_size, tta=args.tta)
    model = resolve_model(args.model)
    tmp = Path(args.workdir)
    segment_file(args.warmup, tmp / "warm_mask.mrc", model=model, config=cfg, overwrite=True)
    res = segment_file(args.input, tmp / "mask.mrc", prob_path=tmp / "prob.mrc", model=model,
                       config=cfg, overwrite=True)  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"slices_per_s": res.slices_per_second, "seconds": res.seconds,
                      "peak_rss_mb": peak, "plan": res.plan, "device": res.device}))  # fmt: skip


def bench_cpu(args: argparse.Namespace) -> list[str]:
    from sxtseg.model import ModelConfig, build_model

    rows = [f"Machine: {_machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
            f"Threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset (all cores)')}.",
            "",
            "| preset | params (M) | slices timed | slices/s | est. 64x512x512 (s) "
            "| peak RSS (MiB) | plan |",
            "|---|---|---|---|---|---|---|"]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench_segment_") as t:
        root = Path(t)
        warm = root / "warm.mrc"
        _write_tomogram(warm, (1, args.size, args.size), seed=1)
        for preset in args.presets.split(","):
            n = CPU_SLICES.get(preset, 2) if args.slices is None else args.slices
            tomo = root / f"tomo_{preset}.mrc"
            _write_tomogram(tomo, (n, args.size, args.size), seed=0)
            mdir = _model_dir(root, preset=preset)
            nparam = sum(p.numel() for p in build_model(ModelConfig.from_preset(preset))
                         .parameters()) / 1e6  # fmt: skip
            cmd = [sys.executable, __file__, "worker", "--model", str(mdir), "--input", str(tomo),
                   "--warmup", str(warm), "--workdir", str(root), "--device", "cpu"]  # fmt: skip
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                rows.append(f"| {preset} | {nparam:.2f} | {n} | failed: "
                            f"{out.stderr.strip().splitlines()[-1:]} | | | |")  # fmt: skip
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(f"| {preset} | {nparam:.2f} | {n} | {r['slices_per_s']:.3f} | "
                        f"{64 / r['slices_per_s']:.0f} | {r['peak_rss_mb']:.0f} | "
                        f"{r['plan']} |")  # fmt: skip
            print(rows[-1], flush=True)
    return rows


# -- memory --------------------------------------------------------------------------------------
def _status(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, val = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM", "VmData"):
                out[key] = int(val.split()[0])
    except (OSError, ValueError):
        pass
    return out


def bench_memory(args: argparse.Namespace) -> list[str]:
    limit = int(args.limit_mb * (1 << 20))
    px = args.slice
    n = math.ceil(args.ratio * limit / (px * px * 4))
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_mem_"))
    work.mkdir(parents=True, exist_ok=True)
    tomo = work / "big.mrc"
    if not tomo.exists() or tomo.stat().st_size < n * px * px * 4:
        _write_tomogram(tomo, (n, px, px), seed=0)
    mdir = _model_dir(work, m=args.width)
    for f in ("mask.mrc", "prob.mrc"):
        (work / f).unlink(missing_ok=True)
    cmd = [sys.executable, "-c", LAUNCH, "segment", str(tomo), "-o", str(work / "mask.mrc"),
           "-p", str(work / "prob.mrc"), "--model", str(mdir), "--device", "cpu",
           "--batch-size", str(args.batch_size), "--backend", args.backend]  # fmt: skip

    def limit_data() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=limit_data)  # fmt: skip
    peaks: dict[str, int] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for k, v in _status(proc.pid).items():
                peaks[k] = max(peaks.get(k, 0), v)
            time.sleep(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, _, rusage = os.wait4(proc.pid, 0)
    done.set()
    th.join()
    err = proc.stderr.read().decode() if proc.stderr else ""
    wall = time.perf_counter() - t0
    rc = proc.returncode if proc.returncode is not None else 0
    size = tomo.stat().st_size
    mib = 1 << 20
    rows = [f"Machine: {_machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
            "",
            "| tomogram | file size | RLIMIT_DATA | exit | wall (s) | peak VmHWM | peak RssAnon "
            "| peak RssFile | ru_maxrss |",
            "|---|---|---|---|---|---|---|---|---|",
            f"| {n}x{px}x{px} float32 MRC | {size / mib:.0f} MiB | {limit / mib:.0f} MiB | "
            f"{'ok' if rc == 0 else err.strip()[-200:]} | {wall:.0f} | "
            f"{peaks.get('VmHWM', 0) / 1024:.0f} MiB | {peaks.get('RssAnon', 0) / 1024:.0f} MiB | "
            f"{peaks.get('RssFile', 0) / 1024:.0f} MiB | "
            f"{rusage.ru_maxrss / 1024:.0f} MiB |"]  # fmt: skip
    print(rows[-1], flush=True)
    if not args.keep:
        for f in ("mask.mrc", "prob.mrc", "big.mrc"):
            (work / f).unlink(missing_ok=True)
    return rows


# -- GPU -----------------------------------------------------------------------------------------
def _naive_starts(length: int, tile: int) -> list[int]:
    """The authors' scheme: shrink the stride from the tile size until it divides length - tile."""
    if length <= tile:
        return [0]
    stride = tile
    while (length - tile) % stride:
        stride -= 1
    return list(range(0, length - tile + 1, stride))


def bench_gpu(args: argparse.Namespace) -> list[str]:
    import torch

    from sxtseg.infer import Predictor, SegmentConfig, segment_file
    from sxtseg.model import build_model

    if not torch.cuda.is_available():
        return ["GPU rows: not measured (no CUDA device in this run)."]
    dev = torch.device("cuda")
    h, w = 1324, 1284
    model = build_model("paper").to(dev).eval()
    rows = [f"Device: {torch.cuda.get_device_name(0)}; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
            "| variant | batch | slices/s |", "|---|---|---|"]  # fmt: skip

    def timed(fn, n_slices: int, reps: int = 3) -> float:
        fn()
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        torch.cuda.synchronize()
        return reps * n_slices / (time.perf_counter() - t)

    x_host = np.random.default_rng(0).normal(size=(args.batch, h, w)).astype(np.float32)
    # Predictor.predict: host array in, host array out (transfers included)
    variants = [("fp32", SegmentConfig(amp="off", batch_size=args.batch, channels_last=False)),
                ("bf16 + channels_last", SegmentConfig(amp="bf16", batch_size=args.batch)),
                ("bf16 + TTA (8x)", SegmentConfig(amp="bf16", batch_size=args.batch, tta=True)),
                ("bf16 + compile", SegmentConfig(amp="bf16", batch_size=args.batch,
                                                 compile=True))]  # fmt: skip
    for name, cfg in variants:
        pred = Predictor(model, config=cfg)
        rate = timed(lambda p=pred: p.predict(x_host), args.batch)
        rows.append(f"| {name} | {args.batch} | {rate:.1f} |")
        print(rows[-1], flush=True)
    # the authors' scheme: both heads, fp32, batch 1, 592-px tiles, equal weights
    x = torch.from_numpy(x_host[:1]).to(dev)[:, None]
    ys, xs = _naive_starts(h, 592), _naive_starts(w, 592)

    @torch.inference_mode()
    def naive() -> None:
        out = torch.zeros_like(x)
        cnt = torch.zeros_like(x)
        for y0 in ys:
            for x0 in xs:
                o = model(x[..., y0 : y0 + 592, x0 : x0 + 592])
                out[..., y0 : y0 + 592, x0 : x0 + 592] += o.label
                cnt[..., y0 : y0 + 592, x0 : x0 + 592] += 1
        (out / cnt).cpu()

    rows.append(f"| naive: batch 1, both heads, {len(ys) * len(xs)} tiles of 592, fp32 | 1 | "
                f"{timed(naive, 1):.1f} |")  # fmt: skip
    print(rows[-1], flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_gpu_") as t:
        root = Path(t)
        tomo = root / "tomo.mrc"
        _write_tomogram(tomo, (args.e2e_slices, h, w), seed=0)
        mdir = _model_dir(root, preset="paper")
        cfg = SegmentConfig(amp="bf16", batch_size=args.batch, compile=args.compile_e2e)
        segment_file(tomo, root / "warm.mrc", model=mdir, config=cfg)
        res = segment_file(tomo, root / "mask.mrc", model=mdir, config=cfg)
        rows.append(f"| end to end MRC -> mask ({args.e2e_slices} slices, bf16) | {args.batch} | "
                    f"{res.slices_per_second:.1f} |")  # fmt: skip
    props = torch.cuda.get_device_properties(0)
    rows += ["", f"Floor: {GMAC_LABEL_1024} G multiply-adds per 1024^2 slice (label path) x "
             f"{h * w / 1024**2:.3f} for 1324x1284 = {GMAC_LABEL_1024 * h * w / 1024**2:.0f} GMAC "
             f"per slice; divide 2x that by the card's measured bf16 rate "
             f"({props.name})."]  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("cpu")
    c.add_argument("--presets", default="tiny,small,base,paper")
    c.add_argument("--size", type=int, default=512)
    c.add_argument("--slices", type=int, default=None)
    m = sub.add_parser("memory")
    m.add_argument("--limit-mb", type=float, default=320)
    m.add_argument("--ratio", type=float, default=4.0)
    m.add_argument("--slice", type=int, default=256)
    m.add_argument("--width", type=int, default=2)
    m.add_argument("--batch-size", type=int, default=1)
    m.add_argument("--workdir", default=None)
    m.add_argument("--keep", action="store_true")
    m.add_argument("--backend", default="torch")
    g = sub.add_parser("gpu")
    g.add_argument("--batch", type=int, default=4)
    g.add_argument("--e2e-slices", type=int, default=64)
    g.add_argument("--compile-e2e", action="store_true")
    w = sub.add_parser("worker")
    for name in ("--model", "--input", "--warmup", "--workdir"):
        w.add_argument(name, required=True)
    w.add_argument("--device", default="cpu")
    w.add_argument("--batch-size", type=int, default=None)
    w.add_argument("--tta", action="store_true")
    import segment_paths

    segment_paths.add_arguments(sub)
    a = ap.parse_args()
    if a.mode == "worker":
        worker(a)
        return
    if a.mode == "path-worker":
        segment_paths.worker(a)
        return
    if a.mode == "paths":
        print("\n".join(segment_paths.bench_paths(a, script=__file__, machine=_machine())))
        return
    rows = {"cpu": bench_cpu, "memory": bench_memory, "gpu": bench_gpu}[a.mode](a)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
