"""Training throughput of the two-headed network (256² crops per second).

Times full optimiser steps (forward, loss, backward, Adam) on random crops, so
data loading is not included. Labelled steps run both decoders; unlabelled
steps run the image path only. On CUDA: bf16 autocast + channels_last (as the
trainer does); on CPU: float32.

Usage:
    python benchmarks/bench_train.py --presets tiny,small --device cpu --steps 5
    python benchmarks/bench_train.py --presets paper,base --device cuda --batch-size 8
Results are printed as markdown rows and appended to --out if given.
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from sxtseg.model import ModelConfig, build_model
from sxtseg.train.config import TrainConfig
from sxtseg.train.loop import _autocast, cpu_threads, labeled_step, unlabeled_step


def _batch(b: int, crop: int, device: torch.device, cl: bool) -> dict[str, torch.Tensor]:
    fmt = torch.channels_last if cl else torch.contiguous_format
    x = torch.randn(b, 1, crop, crop, device=device).contiguous(memory_format=fmt)
    return {
        "image": x,
        "target": x.clone(),
        "valid": torch.ones_like(x),
        "label": torch.where(torch.rand_like(x) > 0.9, 1.0, -1.0),
        "weight": torch.ones_like(x),
    }


def bench(preset: str, *, device: torch.device, crop: int, batch_size: int, steps: int,
          warmup: int, amp: str) -> dict[str, float]:  # fmt: skip
    """Seconds per step and crops/s for labelled and unlabelled steps."""
    torch.manual_seed(0)
    cl = device.type == "cuda"
    net = build_model(ModelConfig.from_preset(preset)).to(device)
    if cl:
        net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    cfg = TrainConfig(preset=preset, amp=amp)
    batch = _batch(batch_size, crop, device, cl)
    out: dict[str, float] = {}
    for kind, fn in (("labeled", labeled_step), ("unlabeled", unlabeled_step)):
        for i in range(warmup + steps):
            if i == warmup:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            with _autocast(device, amp):
                loss = fn(net, batch, cfg)
            loss.backward()
            opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = (time.perf_counter() - t0) / steps
        out[f"{kind}_s_per_step"] = dt
        out[f"{kind}_crops_per_s"] = batch_size / dt
    # semisupervised protocol with ratio 1: one labelled + one unlabelled step
    out["mixed_crops_per_s"] = 2 * batch_size / (out["labeled_s_per_step"]
                                                  + out["unlabeled_s_per_step"])  # fmt: skip
    if device.type == "cuda":
        out["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="tiny,small")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--amp", default="auto", help="auto (bf16 on CUDA), bf16, fp16, off")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    from sxtseg.train.setup import resolve_device

    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads(args.threads))
        card = f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} thr"
        precision = "fp32" if args.amp in ("auto", "off") else args.amp
    else:
        card = torch.cuda.get_device_name(device)
        precision = "bf16" if args.amp == "auto" else args.amp
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    rows = []
    for preset in args.presets.split(","):
        r = bench(preset, device=device, crop=args.crop, batch_size=args.batch_size,
                  steps=args.steps, warmup=args.warmup, amp=args.amp)  # fmt: skip
        mem = f"{r['peak_gib']:.1f}" if "peak_gib" in r else "-"
        rows.append(
            f"| {preset} | {card} | {precision} | {args.crop}² × {args.batch_size} "
            f"| {r['labeled_crops_per_s']:.2f} | {r['unlabeled_crops_per_s']:.2f} "
            f"| {r['mixed_crops_per_s']:.2f} | {mem} | {date} |"
        )
        print(rows[-1], flush=True)
    if args.out:
        header = ("| preset | device | precision | crop × batch | labelled crops/s "
                  "| unlabelled crops/s | semisupervised crops/s | peak GiB | date |\n"
                  "|---|---|---|---|---|---|---|---|---|\n")  # fmt: skip
        new = not args.out.exists()
        with args.out.open("a") as fh:
            if new:
                fh.write("# Training throughput (benchmarks/bench_train.py)\n\n" + header)
            fh.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
