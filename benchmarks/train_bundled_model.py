"""Train, score and install the bundled default model (the commands behind docs/model_card.md).

Stages (run in order; each is repeatable):

    python benchmarks/train_bundled_model.py data    # simulate training + held-out test tomograms
    python benchmarks/train_bundled_model.py train   # sxtseg train on them
    python benchmarks/train_bundled_model.py score   # boundary-F1 etc. per profile on held-out data
    python benchmarks/train_bundled_model.py install # copy into src/sxtseg/weights/default

Everything goes to ``--work`` (default ``/tmp/sxtseg_bundled``). Training seeds
are 1..N; held-out seeds start at 5000; the demo's seed (20261125) is unseen.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

PROFILES = ("bessy-u41", "alba-mistral", "diamond-b24")
RECIPES = ("periphery", "perinuclear", "yeast")


def stage_data(work: Path, *, per_profile: int, shape: tuple[int, int, int]) -> None:
    from sxtseg.simulate import simulate, write_simulation

    jobs = []
    for p_i, profile in enumerate(PROFILES):
        for i in range(per_profile):
            jobs.append(("train", profile, RECIPES[i % len(RECIPES)], 1 + 100 * p_i + i))
        for r_i, recipe in enumerate(RECIPES):
            jobs.append(("test", profile, recipe, 5000 + 100 * p_i + r_i))
    for split, profile, recipe, seed in jobs:
        out = work / "data" / split / profile / f"{recipe}_{seed}"
        if (out / "membranes.mrc").exists():
            continue
        t0 = time.perf_counter()
        sim = simulate(profile, shape=shape, seed=seed, recipe=recipe)
        write_simulation(sim, out, overwrite=True, previews=False)
        dt = time.perf_counter() - t0
        print(f"{split} {profile} {recipe} seed {seed}: {dt:.1f} s", flush=True)


def stage_train(work: Path, args: argparse.Namespace) -> None:
    from sxtseg.cli import main

    labeled = [str(work / "data" / "train" / p) for p in PROFILES]
    argv = ["train", "--labeled", *labeled, "--preset", args.preset, "-o", str(work / "model"),
            "--epochs", str(args.epochs), "--crop", str(args.crop), "--batch-size",
            str(args.batch_size), "--seed", "0", "--overwrite"]  # fmt: skip
    if args.max_steps:
        argv += ["--max-steps", str(args.max_steps)]
    if args.unlabeled:
        argv += ["--unlabeled", *labeled]
    argv += args.extra
    print("sxtseg " + " ".join(argv), flush=True)
    rc = main(argv)
    if rc:
        sys.exit(rc)


def stage_score(work: Path, model: Path, *, tolerance: float = 2.0) -> dict[str, dict[str, float]]:
    import numpy as np

    from sxtseg.evaluate import evaluate_masks
    from sxtseg.infer import SegmentConfig, segment_array
    from sxtseg.io import read_volume
    from sxtseg.train.checkpoint import load_model

    loaded = load_model(model)
    cfg = SegmentConfig(device="cpu")
    table: dict[str, dict[str, float]] = {}
    for profile in PROFILES:
        rows = []
        for folder in sorted((work / "data" / "test" / profile).iterdir()):
            tomo = read_volume(folder / "tomogram.mrc")
            truth = read_volume(folder / "membranes.mrc").data > 0
            t0 = time.perf_counter()
            prob = segment_array(np.asarray(tomo.data), loaded, config=cfg)
            dt = time.perf_counter() - t0
            s = evaluate_masks(prob, truth, threshold=cfg.threshold, tolerance=tolerance)
            row = {"f1": s.f1, "precision": s.precision, "recall": s.recall,
                   "boundary_f1": s.boundary_f1, "slices_per_s": tomo.shape[0] / dt}  # fmt: skip
            rows.append(row)
            text = ", ".join(f"{k} {v:.3f}" for k, v in row.items())
            print(f"{profile} {folder.name}: {text}", flush=True)
        table[profile] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        table[profile].update({f"{k}_sd": float(np.std([r[k] for r in rows])) for k in rows[0]})
    (work / "scores.json").write_text(json.dumps(table, indent=2))
    print(json.dumps(table, indent=2))
    return table


def stage_install(work: Path, target: Path) -> None:
    model = work / "model"
    for name in ("model.safetensors", "config.json"):
        if not (model / name).is_file():
            raise SystemExit(f"{model / name} missing: run the train stage first")
    target.mkdir(parents=True, exist_ok=True)
    for name in ("model.safetensors", "config.json"):
        shutil.copy2(model / name, target / name)
    print(f"installed {model} -> {target}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("stage", choices=["data", "train", "score", "install"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/sxtseg_bundled"))
    ap.add_argument("--per-profile", type=int, default=4)
    ap.add_argument("--shape", default="48,256,256")
    ap.add_argument("--preset", default="small")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--unlabeled", action="store_true", help="also use the tomograms unlabelled")
    ap.add_argument("--model", type=Path, default=None, help="model folder to score")
    args, extra = ap.parse_known_args()  # unknown options go to 'sxtseg train'
    args.extra = [a for a in extra if a != "--"]
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    if args.stage == "data":
        shape = tuple(int(v) for v in args.shape.split(","))
        stage_data(work, per_profile=args.per_profile, shape=shape)  # type: ignore[arg-type]
    elif args.stage == "train":
        stage_train(work, args)
    elif args.stage == "score":
        stage_score(work, args.model or work / "model")
    else:
        stage_install(work, Path(__file__).parents[1] / "src" / "sxtseg" / "weights" / "default")


if __name__ == "__main__":
    main()
