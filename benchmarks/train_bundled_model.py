"""Train, score and install the bundled default model (the commands behind docs/model_card.md).

Stages (run in order; each is repeatable and skips finished tomograms):

    python benchmarks/train_bundled_model.py data     # randomised training + validation tomograms
    python benchmarks/train_bundled_model.py nuclei   # extra: nuclei under 40 nm zone plates
    python benchmarks/train_bundled_model.py periphery # extra: cell periphery at 8-14 nm voxels
    python benchmarks/train_bundled_model.py train    # sxtseg train on them (one long run)
    python benchmarks/train_bundled_model.py calibrate # threshold on validation data, input grid
    python benchmarks/train_bundled_model.py testdata # held-out tomograms at 10 and 20 nm
    python benchmarks/train_bundled_model.py score    # visible boundary-F1 vs a random forest
    python benchmarks/train_bundled_model.py soup     # optional: average two models' weights
    python benchmarks/train_bundled_model.py install  # copy --model into src/sxtseg/weights/default

Everything goes to ``--work`` (default ``/tmp/sxtseg_bundled``). Options after
the stage that this script does not know go to ``sxtseg train`` unchanged
(e.g. ``--max-minutes 100``, ``--init default`` to continue a model).

Data. Training tomograms are simulated with randomised instruments
(``randomize=True``: voxel 8-25 nm, anisotropic exports, tilt range, zone
plate, dose, ice, contrast, 8-bit exports) from each of the three profiles,
recipes in turn; seeds 1..N. Validation: one tomogram per profile at the
profile's own settings (seeds 900+), passed with ``--val`` so that the kept
checkpoint and the calibrated threshold come from all three instruments.
``nuclei`` adds tomograms of the perinuclear and yeast recipes
from ALBA- and Diamond-like instruments (40 nm zone plate, 8-14 nm voxels,
organelle contrast scaled 0.75-1.0, the rest randomised; seeds 401+), where
the faint double nuclear envelope is blurred into one band; ``periphery``
adds cell peripheries at 8-14 nm voxels from all three profiles (seeds 451+);
the ``train`` stage uses both when they exist. Held-out test set: 3 profiles × 3
recipes at 10 nm and at 20 nm voxels, seeds 5000+ (``--test-seed`` for a
fresh set, with its own ``--work``), plus one "specialist"
tomogram per profile and voxel size (seeds 7000+) whose 5 evenly spaced
slices train the random-forest baseline. The demo's
seed (20261125) is unseen.

Scores are visible-membrane scores (flat.mrc ignored), tolerance 2 voxels, at
the model's calibrated threshold; the forest at p > 0.5 (ilastik's default)
and at the threshold that is best on its own 5 labelled slices.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

PROFILES = ("bessy-u41", "alba-mistral", "diamond-b24")
RECIPES = ("periphery", "perinuclear", "yeast")
TEST_VOXELS = (10.0, 20.0)
FOREST_SLICES = 5


def _simulate(out: Path, profile: Any, *, shape: tuple[int, int, int], seed: int, recipe: Any,
              randomize: bool = False, label: str = "") -> None:  # fmt: skip
    from sxtseg.simulate import simulate, write_simulation

    if (out / "flat.mrc").exists():
        return
    t0 = time.perf_counter()
    sim = simulate(profile, shape=shape, seed=seed, recipe=recipe, randomize=randomize)
    write_simulation(sim, out, overwrite=True, previews=False)
    name = getattr(recipe, "name", recipe)
    print(f"{label} {name} seed {seed}: {time.perf_counter() - t0:.1f} s", flush=True)


def stage_data(work: Path, *, per_profile: int, shape: tuple[int, int, int]) -> None:
    for p_i, profile in enumerate(PROFILES):
        for i in range(per_profile):
            recipe, seed = RECIPES[i % len(RECIPES)], 1 + 100 * p_i + i
            out = work / "data" / "train" / profile / f"{recipe}_{seed}"
            _simulate(out, profile, shape=shape, seed=seed, recipe=recipe, randomize=True,
                      label=f"train {profile}")  # fmt: skip
        recipe, seed = RECIPES[p_i % len(RECIPES)], 900 + p_i
        _simulate(work / "data" / "val" / profile / f"{recipe}_{seed}", profile, shape=shape,
                  seed=seed, recipe=recipe, label=f"val {profile}")  # fmt: skip


def _fine_instrument(name: str, seed: int, stage: str, *, zone_plate_nm: float | None = None
                     ) -> tuple[Any, Any]:  # fmt: skip
    """A randomised ``name`` instrument at isotropic 8-14 nm voxels; returns (profile, its rng).

    The rng is returned so a stage can draw more (e.g. organelle contrast) from the same seed.
    """
    from dataclasses import replace

    import numpy as np

    from sxtseg.simulate import load_profile
    from sxtseg.simulate.randomize import randomize_profile

    rng = np.random.default_rng(seed)
    prof = randomize_profile(load_profile(name), rng)
    voxel = round(float(rng.uniform(8.0, 14.0)), 1)
    zone_plate = prof.zone_plate_nm if zone_plate_nm is None else zone_plate_nm
    desc = (f"{stage} stage, randomised from {name}: {voxel:g} nm voxels, "
            f"+-{prof.tilt_max_deg:g} deg, {zone_plate:g} nm zone plate, {prof.energy_ev:g} eV, "
            f"I0 {prof.dose_photons:g}, {prof.extra_ice_nm:g} nm extra ice, "
            f"jitter {prof.jitter_px:g} px, {prof.export_dtype}")  # fmt: skip
    prof = replace(prof, zone_plate_nm=zone_plate, xy_bin=1, voxel_size_nm=voxel,
                   description=desc)  # fmt: skip
    return prof, rng


def stage_nuclei(work: Path, *, count: int, shape: tuple[int, int, int]) -> None:
    """Nuclei under 40 nm zone plates: the scenes the first bundled model found hardest."""
    from dataclasses import replace

    from sxtseg.simulate.recipes import get_recipe

    for i in range(count):
        name, recipe = PROFILES[1 + i % 2], RECIPES[1 + (i // 2) % 2]  # alba/diamond, nuclei
        seed = 401 + i
        prof, rng = _fine_instrument(name, seed, "nuclei", zone_plate_nm=40.0)
        rec = replace(get_recipe(recipe), contrast_scale=round(float(rng.uniform(0.75, 1.0)), 3))
        out = work / "data" / "train_nuclei" / name / f"{recipe}_{seed}"
        _simulate(out, prof, shape=shape, seed=seed, recipe=rec, label=f"nuclei {name}")


def stage_periphery(work: Path, *, count: int, shape: tuple[int, int, int]) -> None:
    """Cell periphery at fine voxels (8-14 nm, isotropic) from all three randomised profiles.

    Added 2026-12-03 after the nuclei continuation lost Diamond's periphery at 10 nm.
    """
    for i in range(count):
        name, seed = PROFILES[i % 3], 451 + i
        prof, _ = _fine_instrument(name, seed, "periphery")
        out = work / "data" / "train_periphery" / name / f"periphery_{seed}"
        _simulate(out, prof, shape=shape, seed=seed, recipe="periphery", label=f"periphery {name}")


def stage_testdata(work: Path, *, shape: tuple[int, int, int], first_seed: int = 5000) -> None:
    from sxtseg.simulate import load_profile

    for vox in TEST_VOXELS:
        for p_i, name in enumerate(PROFILES):
            profile = load_profile(name, voxel_size_nm=vox)
            base = work / "data" / f"test_{vox:g}nm" / name
            for r_i, recipe in enumerate(RECIPES):
                seed = first_seed + 100 * p_i + r_i + int(vox)
                _simulate(base / f"{recipe}_{seed}", profile, shape=shape, seed=seed,
                          recipe=recipe, label=f"test {vox:g} nm {name}")  # fmt: skip
            seed = 7000 + 100 * p_i + int(vox)
            recipe = RECIPES[p_i % len(RECIPES)]
            _simulate(work / "data" / f"forest_{vox:g}nm" / name, profile, shape=shape, seed=seed,
                      recipe=recipe, label=f"forest {vox:g} nm {name}")  # fmt: skip


def stage_train(work: Path, args: argparse.Namespace) -> None:
    from sxtseg.cli import main

    labeled = [str(work / "data" / "train" / p) for p in PROFILES]
    for extra in ("train_nuclei", "train_periphery"):  # the optional stages' tomograms
        folder = work / "data" / extra
        labeled += sorted(str(p) for p in folder.iterdir()) if folder.is_dir() else []
    val = [str(work / "data" / "val" / p) for p in PROFILES]
    argv = ["train", "--labeled", *labeled, "--val", *val, "--preset", args.preset,
            "--pixel-size", str(args.pixel_size), "-o", str(args.model or work / "model"),
            "--epochs", str(args.epochs), "--crop", str(args.crop), "--batch-size",
            str(args.batch_size), "--seed", "0", "--overwrite"]  # fmt: skip
    if args.max_steps:
        argv += ["--max-steps", str(args.max_steps)]
    if args.unlabeled:
        argv += ["--unlabeled", *labeled]
    else:
        argv += ["--unlabeled-ratio", "0"]
    argv += args.extra
    print("sxtseg " + " ".join(argv), flush=True)
    rc = main(argv)
    if rc:
        sys.exit(rc)


def _scores(prob: Any, truth: Any, flat: Any, threshold: float) -> dict[str, float]:
    import numpy as np

    from sxtseg.evaluate import EvaluateConfig, evaluate_arrays

    config = EvaluateConfig(threshold=threshold, tolerance=2.0)
    ev = evaluate_arrays(prob, truth, ignore=flat, config=config).to_dict()
    mask = np.asarray(prob) >= threshold
    return {
        "visible_boundary_f1": ev["visible_boundary_f1"],
        "visible_boundary_precision": ev["visible_boundary_precision"],
        "visible_boundary_recall": ev["visible_boundary_recall"],
        "boundary_f1": ev["boundary_f1"],
        # membrane fraction of the mask over the truth's (a thick mask reads > 1)
        "fraction_ratio": float(mask.mean() / max(float(np.mean(truth)), 1e-9)),
    }


def _read(folder: Path) -> tuple[Any, Any, Any]:
    import numpy as np

    from sxtseg.io import read_volume

    tomo = read_volume(folder / "tomogram.mrc")
    truth = np.asarray(read_volume(folder / "membranes.mrc").data) > 0
    flat = np.asarray(read_volume(folder / "flat.mrc").data) > 0
    return tomo, truth, flat


def _forest(work: Path, vox: float, profile: str) -> Any:
    import numpy as np

    from sxtseg.evaluate import calibrate_threshold
    from sxtseg.evaluate.baselines import fit_random_forest, predict_random_forest

    tomo, truth, flat = _read(work / "data" / f"forest_{vox:g}nm" / profile)
    zs = np.linspace(0, tomo.shape[0] - 1, FOREST_SLICES + 2)[1:-1].round().astype(int)
    data = np.asarray(tomo.data)
    forest = fit_random_forest(data[zs], truth[zs], ignore=flat[zs])
    # the specialist's own best threshold on its 5 labelled slices (in-sample, generous)
    prob = predict_random_forest(forest, data[zs]).probabilities
    best = calibrate_threshold(prob, truth[zs], ignore=flat[zs], tolerance=2.0, planar=True)
    return forest, float(best.threshold)


def stage_score(work: Path, model: Path) -> dict[str, Any]:
    import numpy as np

    from sxtseg.evaluate.baselines import predict_random_forest
    from sxtseg.infer import SegmentConfig, segment_array
    from sxtseg.model.checkpoint import load_model

    loaded = load_model(model)
    cfg = SegmentConfig(device="cpu")
    threshold = cfg.threshold_for(loaded.meta.get("threshold"))
    rows: list[dict[str, Any]] = []
    for vox in TEST_VOXELS:
        for profile in PROFILES:
            forest, forest_threshold = _forest(work, vox, profile)
            for folder in sorted((work / "data" / f"test_{vox:g}nm" / profile).iterdir()):
                tomo, truth, flat = _read(folder)
                t0 = time.perf_counter()
                prob = segment_array(np.asarray(tomo.data), loaded, config=cfg,
                                     voxel_size=tomo.voxel_size)  # fmt: skip
                dt = time.perf_counter() - t0
                rf = predict_random_forest(forest, np.asarray(tomo.data)).probabilities
                row = {"voxel_nm": vox, "profile": profile, "tomogram": folder.name,
                       "slices_per_s": tomo.shape[0] / dt,
                       "model": _scores(prob, truth, flat, threshold),
                       "forest": _scores(rf, truth, flat, 0.5),
                       "forest_calibrated": _scores(rf, truth, flat, forest_threshold)}  # fmt: skip
                rows.append(row)
                m, f = row["model"], row["forest"]
                print(f"{vox:g} nm {profile} {folder.name}: model vbF1 "
                      f"{m['visible_boundary_f1']:.3f} (P {m['visible_boundary_precision']:.3f} "
                      f"R {m['visible_boundary_recall']:.3f}, fraction x{m['fraction_ratio']:.2f})"
                      f", forest {f['visible_boundary_f1']:.3f}", flush=True)  # fmt: skip
    table: dict[str, dict[str, float]] = {}
    for vox in TEST_VOXELS:
        for profile in PROFILES:
            sel = [r for r in rows if r["voxel_nm"] == vox and r["profile"] == profile]
            key = f"{profile} @ {vox:g} nm"
            table[key] = {}
            for who in ("model", "forest", "forest_calibrated"):
                for k in ("visible_boundary_f1", "visible_boundary_precision",
                          "visible_boundary_recall", "fraction_ratio"):  # fmt: skip
                    vals = [r[who][k] for r in sel]
                    table[key][f"{who}_{k}"] = float(np.mean(vals))
                    table[key][f"{who}_{k}_sd"] = float(np.std(vals))
    result = {"model": str(model), "threshold": threshold, "table": table, "rows": rows}
    (work / "scores.json").write_text(json.dumps(result, indent=2))
    print(
        "| profile | model vis. boundary-F1 | precision | recall | mask/truth fraction "
        "| forest p>0.5 | forest, own threshold | margin over the better forest |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for key, t in table.items():
        m = {k[6:]: v for k, v in t.items() if k.startswith("model_")}
        f = {k[7:]: v for k, v in t.items() if k.startswith("forest_")}
        c = {k[18:]: v for k, v in t.items() if k.startswith("forest_calibrated_")}
        best = max(f["visible_boundary_f1"], c["visible_boundary_f1"])
        print(f"| {key} | {m['visible_boundary_f1']:.3f} ± {m['visible_boundary_f1_sd']:.3f} "
              f"| {m['visible_boundary_precision']:.3f} | {m['visible_boundary_recall']:.3f} "
              f"| {m['fraction_ratio']:.2f} | {f['visible_boundary_f1']:.3f} "
              f"| {c['visible_boundary_f1']:.3f} "
              f"| {m['visible_boundary_f1'] - best:+.3f} |")  # fmt: skip
    return result


def stage_valscore(work: Path, model: Path) -> dict[str, float]:
    """Visible boundary-F1 on the validation tomograms at their own voxel size."""
    import numpy as np

    from sxtseg.infer import SegmentConfig, segment_array
    from sxtseg.model.checkpoint import load_model

    loaded = load_model(model)
    cfg = SegmentConfig(device="cpu")
    threshold = cfg.threshold_for(loaded.meta.get("threshold"))
    out: dict[str, float] = {}
    for folder in sorted((work / "data" / "val").glob("*/*")):
        tomo, truth, flat = _read(folder)
        prob = segment_array(np.asarray(tomo.data), loaded, config=cfg, voxel_size=tomo.voxel_size)
        out[f"{folder.parent.name}/{folder.name}"] = _scores(prob, truth, flat, threshold)[
            "visible_boundary_f1"
        ]
    out["mean"] = float(np.mean(list(out.values())))
    print(json.dumps({"model": str(model), "threshold": threshold, **out}, indent=2))
    return out


def stage_preview(work: Path, model: Path, out: Path) -> None:
    """One XY slice of each 20 nm test recipe: tomogram, truth, model mask (fractions in titles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from sxtseg.infer import SegmentConfig, segment_array
    from sxtseg.model.checkpoint import load_model

    loaded = load_model(model)
    cfg = SegmentConfig(device="cpu")
    threshold = cfg.threshold_for(loaded.meta.get("threshold"))
    folders = sorted((work / "data" / "test_20nm" / "alba-mistral").iterdir())
    fig, axes = plt.subplots(len(folders), 3, figsize=(10, 3.4 * len(folders)))
    for row, folder in zip(axes, folders, strict=True):
        tomo, truth, flat = _read(folder)
        prob = segment_array(np.asarray(tomo.data), loaded, config=cfg, voxel_size=tomo.voxel_size)
        mask = prob >= threshold
        z = int(np.argmax((truth & ~flat).sum(axis=(1, 2))))
        img = np.asarray(tomo.data)[z].astype(np.float32)
        lo, hi = np.percentile(img, [1, 99])
        row[0].imshow(img, cmap="gray", vmin=lo, vmax=hi)
        row[0].set_title(f"{folder.name}, z = {z} (20 nm voxels)")
        tru = np.zeros((*img.shape, 4))
        tru[truth[z] & ~flat[z]] = (0.1, 0.9, 0.1, 0.8)
        tru[flat[z]] = (0.2, 0.4, 1.0, 0.6)
        row[1].imshow(img, cmap="gray", vmin=lo, vmax=hi)
        row[1].imshow(tru)
        row[1].set_title(f"truth {truth.mean():.1%} (green visible, blue flat)")
        over = np.zeros((*img.shape, 4))
        over[mask[z]] = (1.0, 0.2, 0.1, 0.8)
        row[2].imshow(img, cmap="gray", vmin=lo, vmax=hi)
        row[2].imshow(over)
        row[2].set_title(f"mask p >= {threshold:.2f}: {mask.mean():.1%} of the volume")
        for ax in row:
            ax.set_axis_off()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    print(f"wrote {out}")


def stage_calibrate(work: Path, model: Path) -> float:
    """Re-calibrate the mask threshold on the validation tomograms at their own voxel size.

    Since 2026-12-02 ``sxtseg train`` does this itself after the last epoch
    (``sxtseg.train.grid_threshold``, on its validation slices); this stage
    re-calibrates a finished model on whole validation tomograms. Masks are
    made on the input's grid after the probabilities are resampled back,
    where the best threshold differs from the crops' (upsampling widens the
    probability ridges). The mean visible boundary-F1 curve over the three validation
    tomograms picks the threshold, written to ``config.json`` (meta.threshold,
    with meta.threshold_calibration saying how).
    """
    import numpy as np

    from sxtseg.evaluate import calibrate_threshold
    from sxtseg.infer import SegmentConfig, segment_array
    from sxtseg.model.checkpoint import load_model
    from sxtseg.train.grid_threshold import GridThreshold, store_threshold

    loaded = load_model(model)
    cfg = SegmentConfig(device="cpu", threshold=0.5)
    curves, names, thresholds = [], [], []
    for folder in sorted((work / "data" / "val").glob("*/*")):
        tomo, truth, flat = _read(folder)
        prob = segment_array(np.asarray(tomo.data), loaded, config=cfg, voxel_size=tomo.voxel_size)
        cal = calibrate_threshold(prob, truth, ignore=flat, tolerance=2.0)
        curves.append(cal.scores)
        names.append(f"{folder.parent.name}/{folder.name}")
        thresholds = list(cal.thresholds)
    mean = np.mean(curves, axis=0)
    best = int(np.argmax(mean))
    grid = GridThreshold(float(thresholds[best]), float(mean[best]), tuple(thresholds),
                         tuple(float(v) for v in mean), tuple(names))  # fmt: skip
    method = ("best mean visible boundary-F1 (tolerance 2 voxels) on the validation "
              "tomograms at their own voxel size (probabilities resampled back)")  # fmt: skip
    before = store_threshold(model, grid, method=method)
    print(f"threshold {before} -> {grid.threshold} (mean visible boundary-F1 {grid.score:.3f})")
    return grid.threshold


def stage_soup(work: Path, model: Path, base: str | Path, alpha: float) -> Path:
    """Interpolate weights: ``alpha`` x ``model`` + (1 - ``alpha``) x ``base`` (same architecture).

    A continuation (``train --init default``) and the weights it started from
    lie in one basin, so their average often keeps what each does best
    (Wortsman et al. 2022, "Robust fine-tuning of zero-shot models"). Every
    floating-point tensor is interpolated, batch-norm statistics included;
    ``config.json`` is the continuation's, with ``meta.soup`` saying how. The
    result goes to ``work/soup_<alpha>``; choose ``alpha`` on validation data
    (``calibrate`` prints each one's mean visible boundary-F1), never on the
    test set.
    """
    import torch
    from safetensors.torch import load_file, save

    from sxtseg.io.checkpoint import read_model_folder, write_model_folder
    from sxtseg.model.checkpoint import resolve_model_dir

    weights_a, doc = read_model_folder(resolve_model_dir(model))
    weights_b, _ = read_model_folder(resolve_model_dir(base))
    a, b = load_file(str(weights_a)), load_file(str(weights_b))
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        raise SystemExit(f"{model} and {base} do not share an architecture")
    mixed = {k: (alpha * a[k] + (1 - alpha) * b[k]).to(a[k].dtype)
             if torch.is_floating_point(a[k]) else a[k] for k in a}  # fmt: skip
    doc["meta"]["soup"] = {"alpha": alpha, "model": str(model), "base": str(base)}
    out = work / f"soup_{alpha:g}"
    write_model_folder(out, save(mixed), doc)
    print(f"wrote {out}: {alpha:g} x {model} + {1 - alpha:g} x {base}")
    return out


def stage_install(model: Path, target: Path) -> None:
    names = ("model.safetensors", "config.json")
    for name in names:
        if not (model / name).is_file():
            raise SystemExit(f"{model / name} missing: run the train stage first")
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(model / name, target / name)
    print(f"installed {model} -> {target}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "stage",
        choices=[
            "data",
            "nuclei",
            "periphery",
            "train",
            "testdata",
            "score",
            "valscore",
            "preview",
            "calibrate",
            "soup",
            "install",
        ],
    )
    ap.add_argument("--work", type=Path, default=Path("/tmp/sxtseg_bundled"))
    ap.add_argument("--per-profile", type=int, default=8)
    ap.add_argument("--nuclei", type=int, default=12, help="tomograms for the 'nuclei' stage")
    ap.add_argument("--periphery", type=int, default=9, help="tomograms, 'periphery' stage")
    ap.add_argument("--test-seed", type=int, default=5000, help="testdata: first seed (5000)")
    ap.add_argument("--shape", default="48,256,256")
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--pixel-size", type=float, default=10.0)
    ap.add_argument("--epochs", type=int, default=1000)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--unlabeled", action="store_true", help="also use the tomograms unlabelled")
    ap.add_argument("--model", type=Path, default=None, help="model folder to score")
    ap.add_argument("--base", default="default", help="soup: the other model folder")
    ap.add_argument("--alpha", type=float, default=0.5, help="soup: weight of --model")
    args, extra = ap.parse_known_args()  # unknown options go to 'sxtseg train'
    args.extra = [a for a in extra if a != "--"]
    if args.model is not None and str(args.model) == "default":  # the bundled weights
        from sxtseg.model.checkpoint import resolve_model_dir

        args.model = resolve_model_dir("default")
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    shape = tuple(int(v) for v in args.shape.split(","))
    if args.stage == "data":
        stage_data(work, per_profile=args.per_profile, shape=shape)  # type: ignore[arg-type]
    elif args.stage == "nuclei":
        stage_nuclei(work, count=args.nuclei, shape=shape)  # type: ignore[arg-type]
    elif args.stage == "periphery":
        stage_periphery(work, count=args.periphery, shape=shape)  # type: ignore[arg-type]
    elif args.stage == "testdata":
        stage_testdata(work, shape=shape, first_seed=args.test_seed)  # type: ignore[arg-type]
    elif args.stage == "train":
        stage_train(work, args)
    elif args.stage == "valscore":
        stage_valscore(work, args.model or work / "model")
    elif args.stage == "calibrate":
        stage_calibrate(work, args.model or work / "model")
    elif args.stage == "preview":
        root = Path(__file__).parents[1]
        stage_preview(work, args.model or work / "model", root / "docs" / "model_card_20nm.png")
    elif args.stage == "soup":
        stage_soup(work, args.model or work / "model", args.base, args.alpha)
    elif args.stage == "score":
        stage_score(work, args.model or work / "model")
    else:
        target = Path(__file__).parents[1] / "src" / "sxtseg" / "weights" / "default"
        stage_install(args.model or work / "model", target)


if __name__ == "__main__":
    main()
