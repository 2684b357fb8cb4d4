"""Is the bundled model's weak row a threshold problem? A sweep on validation and test tomograms.

    python benchmarks/bundled_threshold_sweep.py [--work /tmp/sxtseg_bundled] [--model default]

Needs the ``testdata`` stage of ``train_bundled_model.py`` (and its validation
tomograms); simulates 3 more validation tomograms at 20 nm (seeds 910-912).
For every tomogram, the visible boundary-F1 (tolerance 2 voxels) over a
threshold sweep of the probabilities on the input grid; printed per profile
and voxel size: the mean at the model's threshold, the mean of each
tomogram's own best threshold (an oracle: chosen on the test truth), and the
best single threshold per voxel size. Also draws the worst test tomogram's
worst slice (hits, misses, flat truth) to ``--figure``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import train_bundled_model as tb


def sweep(work: Path, model: str) -> dict[str, dict[str, list[float]]]:
    from sxtseg.evaluate import calibrate_threshold
    from sxtseg.infer import SegmentConfig, segment_array
    from sxtseg.model.checkpoint import load_model
    from sxtseg.simulate import load_profile

    for p_i, name in enumerate(tb.PROFILES):
        recipe, seed = tb.RECIPES[p_i % 3], 910 + p_i
        tb._simulate(
            work / "data" / "val_20nm" / name / f"{recipe}_{seed}",
            load_profile(name, voxel_size_nm=20.0),
            shape=(48, 256, 256),
            seed=seed,
            recipe=recipe,
            label="val 20 nm",
        )
    loaded = load_model(model)
    cfg = SegmentConfig(device="cpu", threshold=0.5)
    out: dict[str, dict[str, list[float]]] = {}
    for group in ("val", "val_20nm", "test_10nm", "test_20nm"):
        for folder in sorted((work / "data" / group).glob("*/*")):
            tomo, truth, flat = tb._read(folder)
            prob = segment_array(
                np.asarray(tomo.data), loaded, config=cfg, voxel_size=tomo.voxel_size
            )
            cal = calibrate_threshold(prob, truth, ignore=flat, tolerance=2.0)
            key = f"{group}/{folder.parent.name}/{folder.name}"
            out[key] = {
                "thresholds": [float(v) for v in cal.thresholds],
                "scores": [float(v) for v in cal.scores],
            }
    return out


def report(curves: dict[str, dict[str, list[float]]], threshold: float) -> None:
    groups: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for key, c in curves.items():
        th, sc = np.array(c["thresholds"]), np.array(c["scores"])
        at = float(sc[np.argmin(abs(th - threshold))])
        groups[key.rsplit("/", 1)[0]].append((at, float(sc.max()), float(th[sc.argmax()])))
    print(
        f"| tomograms | at the model's threshold {threshold:g} | each tomogram's own best "
        "(oracle) | best thresholds |\n|---|---|---|---|"
    )
    for name, rows in groups.items():
        a = np.array(rows)
        print(
            f"| {name} | {a[:, 0].mean():.3f} | {a[:, 1].mean():.3f} "
            f"| {', '.join(f'{v:.2f}' for v in a[:, 2])} |"
        )
    for vox in ("test_10nm", "test_20nm"):
        keys = [k for k in curves if k.startswith(vox)]
        th = np.array(curves[keys[0]]["thresholds"])
        mean = np.mean([curves[k]["scores"] for k in keys], axis=0)
        print(
            f"{vox}: best single threshold {th[mean.argmax()]:.2f} "
            f"(mean {mean.max():.3f}; at {threshold:g}: {mean[np.argmin(abs(th - threshold))]:.3f})"
        )


def figure(work: Path, curves: dict[str, dict[str, list[float]]], model: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import ndimage as ndi

    from sxtseg.infer import SegmentConfig, segment_array
    from sxtseg.model.checkpoint import load_model

    loaded = load_model(model)
    cfg = SegmentConfig(device="cpu")
    threshold = cfg.threshold_for(loaded.meta.get("threshold"))
    # the worst tomogram of the weakest (profile, voxel size) row of the test set
    tests = [k for k in curves if k.startswith("test_")]
    rows: dict[str, list[str]] = defaultdict(list)
    for k in tests:
        rows[k.rsplit("/", 1)[0]].append(k)

    def best(k: str) -> float:
        return max(curves[k]["scores"])

    weakest = min(rows.values(), key=lambda ks: float(np.mean([best(k) for k in ks])))
    worst = min(weakest, key=best)
    tomo, truth, flat = tb._read(work / "data" / worst)
    prob = segment_array(np.asarray(tomo.data), loaded, config=cfg, voxel_size=tomo.voxel_size)
    near = ndi.distance_transform_edt(prob < threshold) <= 2
    visible = truth & ~flat
    missed = visible & ~near
    z = int(np.argmax(missed.sum(axis=(1, 2))))
    img = np.asarray(tomo.data)[z].astype(np.float32)
    lo, hi = np.percentile(img, [1, 99])
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.6))
    axes[0].imshow(img, cmap="gray", vmin=lo, vmax=hi)
    axes[0].set_title(f"{worst}, z = {z}")
    axes[1].imshow(prob[z], vmin=0, vmax=1)
    axes[1].set_title("membrane probability")
    over = np.zeros((*img.shape, 4))
    over[visible[z] & near[z]] = (0.1, 0.9, 0.1, 0.7)
    over[missed[z]] = (1.0, 0.1, 0.1, 0.9)
    over[flat[z]] = (0.2, 0.4, 1.0, 0.5)
    axes[2].imshow(img, cmap="gray", vmin=lo, vmax=hi)
    axes[2].imshow(over)
    axes[2].set_title(f"p ≥ {threshold:g}: found (green), missed (red), flat (blue)")
    for ax in axes:
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(out, dpi=60)
    print(f"wrote {out}: {missed.sum() / max(visible.sum(), 1):.0%} of visible truth missed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/sxtseg_bundled"))
    ap.add_argument("--model", default="default")
    ap.add_argument(
        "--figure",
        type=Path,
        default=Path(__file__).parents[1] / "docs" / "model_card_worst_case.png",
    )
    args = ap.parse_args()
    from sxtseg.model.checkpoint import load_model

    path = args.work / "sweep.json"
    curves = sweep(args.work, args.model)
    path.write_text(json.dumps(curves))
    report(curves, float(load_model(args.model).meta.get("threshold") or 0.5))
    figure(args.work, curves, args.model, args.figure)


if __name__ == "__main__":
    main()
