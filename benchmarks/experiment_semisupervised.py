"""Semisupervised vs supervised-only vs Otsu vs random forest, across instrument profiles.

The paper's claim: a network whose encoder also learns to reconstruct
unlabelled slices (semisupervised) segments better than the same network
trained on the labelled slices alone, most of all on data unlike the labels.

Protocol (all data simulated with ``sxtseg.simulate``, cached):

- labelled tomograms of ONE profile (``--labelled-profile``); from them
  ``--label-counts`` slices (5, 20, 80) are drawn at random per seed;
- unlabelled tomograms of EVERY profile (``--n-unlabelled`` each);
- held-out test tomograms of every profile (``--n-test`` each).

Rows: ``semi`` (``sxtseg train``, image decoder + unlabelled steps),
``sup`` (``sxtseg train --supervised-only``: same label path, no image
decoder), ``otsu`` (global Otsu, polarity chosen on the labelled slices),
``rf`` (ilastik-like random forest trained on the same labelled slices).
Networks are thresholded at 0.9 (the paper); the forest at its class decision
(p > 0.5); Otsu at its threshold. Columns: F1, precision, recall and
boundary-F1 (tolerance 2 voxels) on each profile's test tomograms, mean ± SD
over ``--seeds``.

Everything is cached under ``--work-dir``: simulated data, labelled subsets,
trained models and one JSON line per (method, labelled slices, seed, test
tomogram) in ``results.jsonl``; a rerun skips what is done. The table is
printed and written to ``--table`` (markdown).

Example (run B of benchmarks/results_experiment.md, ~22 min on 2 shared CPU cores)::

    python benchmarks/experiment_semisupervised.py --shape 32,128,128 --steps 400 \
        --seeds 0,1,2 --preset tiny --n-test 3 --n-unlabelled 2 --table /tmp/exp_table.md
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

# OpenMP threads spinning against other processes on a shared CPU slow torch
# down 10x or more; one thread unless told otherwise (set before torch loads).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from sxtseg.evaluate import ForestConfig, evaluate_masks, otsu_segment
from sxtseg.io import read_volume, write_volume
from sxtseg.types import Volume

log = logging.getLogger("experiment")

PROFILES = ("bessy-u41", "alba-mistral", "diamond-b24")
METHODS = ("semi", "sup", "otsu", "rf")
METHOD_NAMES = {
    "semi": "semisupervised (ours)",
    "sup": "supervised-only",
    "otsu": "Otsu threshold",
    "rf": "random forest",
}
METRICS = ("f1", "precision", "recall", "boundary_f1")
#: Base simulation seeds of the three groups (tomogram i gets base + i inside simulate_dataset).
SEED_BASE = {"labelled": 1000, "unlabelled": 2000, "test": 3000}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work-dir", type=Path, default=Path("/tmp/sxtseg_experiment"))
    p.add_argument("--shape", default="32,128,128", help="Z,Y,X of each simulated tomogram")
    p.add_argument("--labelled-profile", default="bessy-u41")
    p.add_argument("--profiles", default=",".join(PROFILES))
    p.add_argument("--label-counts", default="5,20,80")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--n-unlabelled", type=int, default=2, help="unlabelled tomograms per profile")
    p.add_argument("--n-test", type=int, default=3, help="test tomograms per profile")
    p.add_argument("--steps", type=int, default=150, help="labelled training steps per network")
    p.add_argument("--unlabeled-ratio", type=float, default=1.0,
                   help="unlabelled steps per labelled step (semisupervised)")
    p.add_argument("--preset", default="tiny")
    p.add_argument("--crop", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate (default: the trainer's default for the preset)")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--threshold", type=float, default=0.9, help="network probability threshold")
    p.add_argument("--tolerance", type=float, default=2.0, help="boundary tolerance (voxels)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1 is fastest on a shared CPU)")
    p.add_argument("--table", type=Path, default=None, help="write the markdown table here")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- data


def _dataset(work: Path, group: str, profile: str, shape: tuple[int, ...], count: int) -> Path:
    """Simulate (once) ``count`` tomograms of a profile; returns the dataset folder."""
    from sxtseg.simulate import simulate_dataset

    tag = "x".join(str(s) for s in shape)
    out = work / "data" / f"{group}_{profile}_{tag}_n{count}"
    done = out / ".complete"
    if done.exists():
        return out
    t0 = time.perf_counter()
    log.info("simulating %d %s tomogram(s) of %s, shape %s", count, group, profile, shape)
    simulate_dataset(out, profile=profile, shape=shape, seed=SEED_BASE[group], count=count)
    done.write_text(f"{time.perf_counter() - t0:.1f} s\n")
    return out


def _items(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and (p / "membranes.mrc").exists())


def _labelled_subset(work: Path, lab_dir: Path, n: int, seed: int) -> Path:
    """Write ``n`` randomly chosen labelled slices as one small tomogram + mask folder."""
    out = work / "subsets" / f"{lab_dir.name}_n{n}_s{seed}"
    if (out / "membranes.mrc").exists():
        return out
    vols = [(read_volume(d / "tomogram.mrc"), read_volume(d / "membranes.mrc"))
            for d in _items(lab_dir)]  # fmt: skip
    index = [(i, z) for i, (t, _) in enumerate(vols) for z in range(t.shape[0])]
    if n > len(index):
        raise SystemExit(f"{n} labelled slices asked for, only {len(index)} simulated")
    rng = np.random.default_rng(10_000 + seed)
    pick = sorted(rng.choice(len(index), size=n, replace=False))
    tomo = np.stack([np.asarray(vols[index[k][0]][0].data[index[k][1]]) for k in pick])
    mask = np.stack([np.asarray(vols[index[k][0]][1].data[index[k][1]]) for k in pick])
    out.mkdir(parents=True, exist_ok=True)
    vs = vols[0][0].voxel_size
    write_volume(out / "tomogram.mrc", Volume(tomo.astype(np.float32), vs), overwrite=True)
    write_volume(out / "membranes.mrc", Volume(mask.astype(np.uint8), vs), overwrite=True)
    return out


# ----------------------------------------------------------------------------- methods


def _train(subset: Path, unlabelled: list[Path], out: Path, *, supervised_only: bool,
           args: argparse.Namespace, seed: int) -> float:  # fmt: skip
    """Train one network with ``sxtseg.train.loop.train``; returns wall seconds.

    Both networks get ``args.steps`` labelled steps; the semisupervised one
    also gets ``unlabeled_ratio`` unlabelled steps per labelled step. No
    validation split (every labelled slice is used for training, as for the
    baselines), so the model after the last step is kept.
    """
    from sxtseg.train.config import TrainConfig
    from sxtseg.train.loop import train

    if (out / "config.json").exists() and (out / "model.safetensors").exists():
        return float("nan")
    config = TrainConfig(
        preset=args.preset, supervised_only=supervised_only, epochs=100_000,
        max_steps=args.steps * (1 if supervised_only else 1 + round(args.unlabeled_ratio)),
        steps_per_epoch=50, crop=args.crop, batch_size=args.batch_size, lr=args.lr,
        unlabeled_ratio=args.unlabeled_ratio, val_fraction=0.0, patience=None,
        device="cpu", threads=args.threads, seed=seed,
    )  # fmt: skip
    t0 = time.perf_counter()
    train([subset], [] if supervised_only else list(unlabelled), out, config=config,
          overwrite=True)  # fmt: skip
    return time.perf_counter() - t0


def _network_probabilities(model_dir: Path, data: np.ndarray, threads: int) -> np.ndarray:
    """Probabilities in [0, 1] from ``sxtseg.infer.segment_array`` (xy slices, no TTA)."""
    from sxtseg.infer import segment_array
    from sxtseg.infer.config import SegmentConfig

    cfg = SegmentConfig(device="cpu", num_threads=threads)
    return segment_array(data, str(model_dir), config=cfg)


def _scores(pred: np.ndarray, truth: np.ndarray, spacing: Any, args: argparse.Namespace,
            threshold: float) -> dict[str, float]:  # fmt: skip
    s = evaluate_masks(pred, truth, threshold=threshold, tolerance=args.tolerance, spacing=spacing)
    return {k: float(getattr(s, k)) for k in (*METRICS, "iou", "accuracy")}


# ----------------------------------------------------------------------------- driver


def _load_done(path: Path) -> set[tuple[str, int, int]]:
    done = set()
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                done.add((r["method"], r["n_labelled"], r["seed"]))
    return done


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    work: Path = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    shape = tuple(int(v) for v in args.shape.split(","))
    profiles = [p for p in args.profiles.split(",") if p]
    counts = [int(v) for v in args.label_counts.split(",")]
    seeds = [int(v) for v in args.seeds.split(",")]
    methods = [m for m in args.methods.split(",") if m]
    n_lab_tomos = math.ceil(max(counts) / shape[0])

    t_data = time.perf_counter()
    lab_dir = _dataset(work, "labelled", args.labelled_profile, shape, n_lab_tomos)
    unl_dirs = [_dataset(work, "unlabelled", p, shape, args.n_unlabelled) for p in profiles]
    test_dirs = {p: _dataset(work, "test", p, shape, args.n_test) for p in profiles}
    log.info("data ready in %.0f s", time.perf_counter() - t_data)
    tests = {p: [(read_volume(d / "tomogram.mrc"), read_volume(d / "membranes.mrc"))
                 for d in _items(test_dirs[p])] for p in profiles}  # fmt: skip

    data_tag = "x".join(str(v) for v in shape)
    lr = "default" if args.lr is None else format(args.lr, "g")
    net_tag = (f"{args.preset}_st{args.steps}_u{args.unlabeled_ratio:g}_c{args.crop}"
               f"_b{args.batch_size}_lr{lr}")  # fmt: skip
    # baselines depend on the data only; networks also on the training settings
    paths = {m: work / (f"results_{data_tag}_baselines.jsonl" if m in ("otsu", "rf")
                        else f"results_{data_tag}_{net_tag}.jsonl") for m in METHODS}  # fmt: skip
    done = set().union(*(_load_done(p) for p in set(paths.values())))
    for n in counts:
        for seed in seeds:
            subset = _labelled_subset(work, lab_dir, n, seed)
            lab_t = np.asarray(read_volume(subset / "tomogram.mrc").data)
            lab_m = np.asarray(read_volume(subset / "membranes.mrc").data)
            for method in methods:
                if (method, n, seed) in done:
                    continue
                t0 = time.perf_counter()
                extra: dict[str, Any] = {}
                model_dir = work / "models" / f"{method}_{net_tag}_{data_tag}_n{n}_s{seed}"
                if method in ("semi", "sup"):
                    extra["train_s"] = _train(subset, unl_dirs, model_dir, seed=seed, args=args,
                                              supervised_only=method == "sup")  # fmt: skip
                elif method == "rf":
                    t_fit = time.perf_counter()
                    from sxtseg.evaluate.baselines import fit_random_forest

                    forest = fit_random_forest(lab_t, lab_m, config=ForestConfig(seed=seed))
                    extra["train_s"] = time.perf_counter() - t_fit
                records = []
                for profile in profiles:
                    for k, (tomo, truth) in enumerate(tests[profile]):
                        data = np.asarray(tomo.data, dtype=np.float32)
                        gt = np.asarray(truth.data)
                        if method in ("semi", "sup"):
                            prob = _network_probabilities(model_dir, data, args.threads)
                            sc = _scores(prob, gt, tomo.voxel_size, args, args.threshold)
                            sc["f1_at_0.5"] = _scores(prob, gt, None, args, 0.5)["f1"]
                        elif method == "rf":
                            from sxtseg.evaluate.baselines import predict_random_forest

                            pred = predict_random_forest(forest, data).mask
                            sc = _scores(pred, gt, tomo.voxel_size, args, 0.5)
                        else:
                            o = otsu_segment(data, labelled_images=lab_t, labelled_masks=lab_m)
                            sc = _scores(o.mask, gt, tomo.voxel_size, args, 0.5)
                            extra["polarity"] = o.polarity
                        records.append({"method": method, "n_labelled": n, "seed": seed,
                                        "profile": profile, "test": k, **sc, **extra,
                                        "settings": paths[method].stem})  # fmt: skip
                with paths[method].open("a") as fh:
                    for r in records:
                        fh.write(json.dumps(r) + "\n")
                log.info("%-5s n=%-3d seed=%d  %s  (%.0f s)", method, n, seed,
                         "  ".join(f"{r['profile']}: F1 {r['f1']:.3f}" for r in records),
                         time.perf_counter() - t0)  # fmt: skip
    return [json.loads(line) for p in sorted(set(paths.values())) if p.exists()
            for line in p.read_text().splitlines() if line.strip()]  # fmt: skip


def _fmt(values: list[float], *, signed: bool = False) -> str:
    if not values:
        return "—"
    m = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{m:+.3f} ± {sd:.3f}" if signed else f"{m:.3f} ± {sd:.3f}"


def table(records: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """Markdown: one row per (labelled slices, method, profile); mean ± SD over seeds."""
    # mean over test tomograms within a seed, then mean ± SD over seeds
    per_seed: dict[tuple[int, str, str, int], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for r in records:
        key = (r["n_labelled"], r["method"], r["profile"], r["seed"])
        for m in METRICS:
            per_seed[key][m].append(r[m])
    agg: dict[tuple[int, str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (n, method, profile, _seed), vals in per_seed.items():
        for m in METRICS:
            agg[(n, method, profile)][m].append(statistics.fmean(vals[m]))
    profiles = [p for p in args.profiles.split(",") if p]
    lines = [
        "| labelled slices | method | test profile | F1 | precision | recall | boundary-F1 (tol "
        f"{args.tolerance:g}) | seeds |",
        "|---:|---|---|---|---|---|---|---:|",
    ]
    for n in sorted({k[0] for k in agg}):
        for method in METHODS:
            for profile in profiles:
                vals = agg.get((n, method, profile))
                if not vals:
                    continue
                mark = " (train)" if profile == args.labelled_profile else ""
                lines.append(
                    f"| {n} | {METHOD_NAMES[method]} | {profile}{mark} | "
                    + " | ".join(_fmt(vals[m]) for m in METRICS)
                    + f" | {len(vals['f1'])} |"
                )
    # semi - sup differences
    lines += ["", "Semisupervised minus supervised-only (mean over seeds; paired by seed):", "",
              "| labelled slices | test profile | ΔF1 | Δprecision | Δrecall | Δboundary-F1 |",
              "|---:|---|---|---|---|---|"]  # fmt: skip
    for n in sorted({k[0] for k in agg}):
        for profile in profiles:
            diffs = defaultdict(list)
            for seed in sorted({k[3] for k in per_seed}):
                a = per_seed.get((n, "semi", profile, seed))
                b = per_seed.get((n, "sup", profile, seed))
                if a and b:
                    for m in METRICS:
                        diffs[m].append(statistics.fmean(a[m]) - statistics.fmean(b[m]))
            if diffs:
                lines.append(f"| {n} | {profile} | "
                             + " | ".join(_fmt(diffs[m], signed=True) for m in METRICS)
                             + " |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
                        stream=sys.stderr, force=True)  # fmt: skip
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    records = run(args)
    text = table(records, args)
    print(text)
    if args.table is not None:
        args.table.write_text(text)
    log.info("total %.0f s", time.perf_counter() - t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
